// The `bot` process (Procfile): watches queue events and stores their alerts as they happen, delivers the
// alert outbox to Telegram continuously (retrying with backoff while Telegram is down), and answers
// chat-ops commands by long-polling the Bot API. Without a bot token it still stores and logs alerts.
// Any number may run: a lease in Redis makes one active, the others standby until it goes away.
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
import { Lease, type Stop } from "../../queues/lease.ts";
// The LLM layer owns the budgets; this composition root only reads their live use.
import { llmQuotaFromConfig } from "../../queues/llm-quota.ts";
import { commandLine } from "../command-line.ts";

commandLine(
  "bot",
  `Usage: node --import tsx apps/bot/main.ts

The Procfile's \`bot\`: alerts from queue events, alert delivery to Telegram, chat-ops when
TELEGRAM_BOT_TOKEN is set; health probes on HEALTH_PORT (else PORT) until SIGINT/SIGTERM. Replicas are
safe: one holds the lease (BOT_LEASE_MS) and acts, the others stand by.
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
const chatOps = api
  ? {
      api,
      ops: new ChatOps({ fleet, store: alerting.store, budgetUsage, dashboardBase: dashboardBase(cfg) }),
      access: { chats: new Set(cfg.TELEGRAM_CHAT_IDS), admins: new Set(cfg.TELEGRAM_ADMIN_CHAT_IDS) },
      handled: redisHandledUpdates(fleet.redis, fleet.prefix),
    }
  : undefined;

/**
 * What the active replica does: turn queue events into alerts, deliver the outbox, answer chat-ops. A
 * takeover repeats nothing: the event position, the handled updates and the Telegram offset are in Redis,
 * and alert delivery claims each alert in PostgreSQL.
 */
async function act(): Promise<Stop> {
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
  await watcher.ready;
  const poller = chatOps
    ? new ChatOpsPoller(chatOps.api, (msg) => handleCommand(msg, chatOps.access, chatOps.ops, log, alerting.redact), log, alerting.redact, chatOps.handled).start()
    : undefined;
  log.info({ holder: lease.token }, "bot active");
  return async () => {
    await Promise.all([poller?.close(), watcher.close(), delivery.close()]);
    log.info({ holder: lease.token }, "bot standby");
  };
}

// Telegram allows one getUpdates poller per token and an event must alert once: one replica acts, the others wait.
const lease = new Lease({ redis: fleet.redis, key: `${fleet.prefix}:bot:lease`, ttlMs: cfg.BOT_LEASE_MS, log, whileHeld: act }).start();
rt.shutdown.add("lease", () => lease.close());
const role = await lease.ready;

const healthPort = cfg.HEALTH_PORT ?? cfg.PORT;
if (healthPort) {
  const probes = standardProbes(rt);
  // A standby is ready too (it takes over by itself); the check says which one acts.
  probes.readiness.lease = async () => ({ ok: true, message: lease.state === "active" ? `active (${lease.token})` : `standby (active: ${(await lease.holder()) ?? "none"})` });
  const health = await startHealthServer(healthPort, cfg.WEB_HOST, probes);
  rt.shutdown.add("health", () => health.close());
}
log.info(
  { sink: alerting.sink.name, chats: cfg.TELEGRAM_CHAT_IDS.length, admins: cfg.TELEGRAM_ADMIN_CHAT_IDS.length, chatOps: Boolean(api), healthPort, role, holder: lease.token },
  "bot ready",
);
