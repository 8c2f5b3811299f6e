// The `bot` process (Procfile): watches queue events and stores their alerts as they happen, delivers the
// alert outbox to Telegram continuously (retrying with backoff while Telegram is down), and answers
// chat-ops commands by long-polling the Bot API. Without a bot token it still stores and logs alerts.
import { bootstrap } from "../bootstrap.ts";
import { startHealthServer } from "../../ops/health.ts";
import { standardProbes } from "../probes.ts";
import { Fleet } from "../../queues/fleet.ts";
import { createAlerting } from "../../alerts/alerting.ts";
import { budgetUsageFrom } from "../../alerts/budgets.ts";
import { DeliveryLoop } from "../../alerts/deliver.ts";
import { dashboardBase } from "../../alerts/links.ts";
import { telegramApi } from "../../alerts/telegram.ts";
import { EventWatcher } from "../../alerts/watch.ts";
import { ChatOps } from "./chat-ops.ts";
import { handleCommand } from "./commands.ts";
import { redisHandledUpdates } from "./handled-updates.ts";
import { ChatOpsPoller } from "./poller.ts";
// The LLM layer owns the budgets; this composition root only reads their live use.
import { llmQuotaFromConfig } from "../../queues/llm-quota.ts";
import { commandLine } from "../command-line.ts";

commandLine(
  "bot",
  `Usage: node --import tsx apps/bot/main.ts

The Procfile's \`bot\` (one per fleet): alerts from queue events, alert delivery to Telegram, chat-ops when
TELEGRAM_BOT_TOKEN is set; health probes on HEALTH_PORT (else PORT) until SIGINT/SIGTERM.
`,
);
const rt = await bootstrap("bot");
const { cfg, log } = rt;
const fleet = new Fleet({ redisUrl: rt.redisUrl, prefix: cfg.QUEUE_PREFIX, name: "ta-fleet:bot", onError: (err) => rt.deps.report(err, "redis:fleet") });
rt.shutdown.add("fleet", () => fleet.close());
const quota = llmQuotaFromConfig(cfg, fleet, rt.pool, log);
const budgetUsage = budgetUsageFrom((p) => quota.budgetUsage(p), quota.providers);
const api = telegramApi(cfg);
const alerting = createAlerting({ cfg, log, pool: rt.pool, fleet, budgetUsage, ...(api ? { api } : {}) });

const report = (err: unknown, what: string) => rt.deps.report(err, what);
const delivery = new DeliveryLoop(alerting.deliverer, log, undefined, report).start();
const watcher = new EventWatcher({
  fleet,
  redisUrl: rt.redisUrl,
  log,
  report,
  onEvent: async (rule, row) => {
    await alerting.onEvent(rule, row);
    delivery.wake();
  },
}).start();
rt.shutdown.add("alerts", () => Promise.all([watcher.close(), delivery.close()]));
await watcher.ready;

if (api) {
  const ops = new ChatOps({ fleet, store: alerting.store, budgetUsage, dashboardBase: dashboardBase(cfg) });
  const access = { chats: new Set(cfg.TELEGRAM_CHAT_IDS), admins: new Set(cfg.TELEGRAM_ADMIN_CHAT_IDS) };
  const handled = redisHandledUpdates(fleet.redis, fleet.prefix);
  const poller = new ChatOpsPoller(api, (msg) => handleCommand(msg, access, ops, log, alerting.redact), log, alerting.redact, handled).start();
  rt.shutdown.add("chat-ops", () => poller.close());
}

const healthPort = cfg.HEALTH_PORT ?? cfg.PORT;
if (healthPort) {
  const health = await startHealthServer(healthPort, cfg.WEB_HOST, standardProbes(rt));
  rt.shutdown.add("health", () => health.close());
}
log.info(
  { sink: alerting.sink.name, chats: cfg.TELEGRAM_CHAT_IDS.length, admins: cfg.TELEGRAM_ADMIN_CHAT_IDS.length, chatOps: Boolean(api), healthPort },
  "bot ready",
);
