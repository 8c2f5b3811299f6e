// Chat-ops over the fake Bot API with the real poller, fleet and alert store: the allow-list and the
// admin allow-list for every command (refusals logged), and what each command does and answers.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAlerting, type Alerting } from "../../alerts/alerting.ts";
import { telegramApi } from "../../alerts/telegram.ts";
import { ChatOps } from "../../apps/bot/chat-ops.ts";
import { COMMANDS, handleCommand } from "../../apps/bot/commands.ts";
import { redisHandledUpdates } from "../../apps/bot/handled-updates.ts";
import { ChatOpsPoller } from "../../apps/bot/poller.ts";
import { parseConfig } from "../../ops/config.ts";
import { enqueue } from "../../queues/enqueue.ts";
import { runKey, strategyChildren, strategyJobId } from "../../queues/flows/daily-refresh.ts";
import { backtestKind, KIND_NAMES, signalKind, stageKind } from "../../queues/registry.ts";
import { PermanentError } from "../../workers/errors.ts";
import { startFakeTelegram, type FakeTelegram } from "../fakes/telegram.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/db.ts";
import { testFleet, type TestFleet } from "../helpers/fleet.ts";
import { memoryLogger } from "../helpers/log.ts";
import { poll } from "../helpers/wait.ts";

const READER = 111;
const ADMIN_CHAT = 222;
const STRANGER = 333;
const ADMIN_USER = 444;

let tg: FakeTelegram;
let db: TestDatabase;
let tf: TestFleet;
let alerting: Alerting;
let poller: ChatOpsPoller;
const logs = memoryLogger();

beforeAll(async () => {
  [tg, db] = await Promise.all([startFakeTelegram(), createTestDatabase()]);
  tf = testFleet("chatops");
  const cfg = parseConfig({
    TELEGRAM_BOT_TOKEN: tg.token,
    TELEGRAM_API_ROOT: tg.url,
    TELEGRAM_CHAT_IDS: String(READER),
    TELEGRAM_ADMIN_CHAT_IDS: `${ADMIN_CHAT},${ADMIN_USER}`,
    DASHBOARD_URL: "https://fleet.example",
  });
  const api = telegramApi(cfg)!;
  alerting = createAlerting({ cfg, log: logs.log, pool: db.pool, fleet: tf.fleet, api });
  const ops = new ChatOps({ fleet: tf.fleet, store: alerting.store, budgetUsage: async () => [{ provider: "gemini", used: 300, limit: 1500 }], dashboardBase: "https://fleet.example" });
  const access = { chats: new Set(cfg.TELEGRAM_CHAT_IDS), admins: new Set(cfg.TELEGRAM_ADMIN_CHAT_IDS) };
  poller = new ChatOpsPoller(api, (m) => handleCommand(m, access, ops, logs.log, alerting.redact), logs.log, alerting.redact, redisHandledUpdates(tf.fleet.redis, tf.prefix), { timeoutS: 5 }).start();
});

afterAll(async () => {
  await poller?.close();
  await Promise.allSettled([tf?.close(), tg?.close(), db?.drop()]);
});

/** Sends `text` as a user in `chat` and returns the bot's reply. */
async function ask(chat: number, text: string, from = chat): Promise<string> {
  const before = tg.sent(chat).length;
  tg.userSays(chat, text, { id: from, first_name: "Op", username: `op${from}` });
  const replies = await tg.waitForSent(before + 1, chat);
  return replies[before]!.text!;
}

const refusals = () => logs.records().filter((r) => r.msg === "chat-ops command refused");

async function failedStageJob(asset: string) {
  const worker = await tf.worker(stageKind, async () => {
    throw new PermanentError(`no bars for ${asset}`);
  });
  const job = await enqueue(tf.fleet, stageKind, { stage: "ema", asset, asOf: "2026-11-21" });
  await poll(async () => (await job.getState()) === "failed" || undefined, `${job.id} to fail`);
  await worker.close();
  return job.id!;
}

const SAMPLE_ARGS: Record<string, string> = { status: "", failed: " stage", retry: " stage", pause: " signal", resume: " signal", ack: " 1", help: "" };

describe("chat-ops access", () => {
  it("refuses every command from a chat that is not on the allow-list, and logs it", async () => {
    expect(Object.keys(SAMPLE_ARGS).sort()).toEqual(COMMANDS.map((c) => c.name).sort());
    const before = refusals().length;
    for (const c of COMMANDS) {
      expect(await ask(STRANGER, `/${c.name}${SAMPLE_ARGS[c.name]}`)).toBe("⛔ This chat is not allowed to use the ta-fleet bot.");
    }
    expect(await ask(STRANGER, "/nonsense")).toContain("not allowed");
    const logged = refusals().slice(before);
    expect(logged).toHaveLength(COMMANDS.length + 1);
    expect(logged.every((r) => r.chatId === String(STRANGER) && r.reason === "chat not on the allow-list")).toBe(true);
  });

  it("lets an allowed chat read, refuses it every mutating command, and allows admins all of them", async () => {
    for (const c of COMMANDS) {
      const text = `/${c.name}${SAMPLE_ARGS[c.name]}`;
      const before = refusals().length;
      const reply = await ask(READER, text);
      if (c.admin) {
        expect(reply, text).toBe(`⛔ /${c.name} changes the fleet and needs an admin chat (TELEGRAM_ADMIN_CHAT_IDS).`);
        expect(refusals().slice(before)).toMatchObject([{ chatId: String(READER), command: c.name, reason: "needs an admin chat or user" }]);
      } else {
        expect(reply, text).not.toContain("⛔");
        expect(refusals()).toHaveLength(before);
      }
      // An admin chat, and an admin user inside an allowed chat, may run everything.
      expect(await ask(ADMIN_CHAT, text), text).not.toContain("⛔");
      expect(await ask(READER, text, ADMIN_USER), text).not.toContain("⛔");
    }
    await tf.fleet.queueByName("signal").resume();
  });
});

describe("chat-ops commands", () => {
  it("/status shows depths, failures in the last hour, workers, budgets and open alerts", async () => {
    await failedStageJob("ADA-USD");
    await enqueue(tf.fleet, stageKind, { stage: "ta", asset: "BTC-USD", asOf: "2026-11-21" });
    await alerting.onEvent("job-failed", { queue: "stage", jobId: "x", name: "ema", attemptsMade: 3, attempts: 3, reason: "boom" });
    const reply = await ask(READER, "/status");
    for (const q of KIND_NAMES) expect(reply).toMatch(new RegExp(`^▶️ ${q}: \\d+ waiting`, "m"));
    expect(reply).toMatch(/^▶️ stage: 1 waiting, oldest \d+ s · 0 active · 0 delayed · 1 failed \(1 h\) · 0 workers$/m);
    expect(reply).toContain("failures in the last hour: 1 · workers alive: 0");
    expect(reply).toContain("budgets: gemini 20 % (300/1500)");
    expect(reply).toContain("open alerts: 1 warning (1 unacknowledged)");
    expect(reply).toContain("🔗 https://fleet.example/admin/queues");
  });

  it("/failed lists failed jobs; an unknown queue gets a clear answer", async () => {
    const id = await failedStageJob("DOT-USD");
    const reply = await ask(READER, "/failed stage");
    expect(reply).toMatch(/^❌ stage: \d+ failed jobs?/);
    expect(reply).toContain(`• ${id} (ema) · attempts 1/3`);
    expect(reply).toContain("no bars for DOT-USD");
    expect(reply).toContain("https://fleet.example/admin/queues/queue/stage?status=failed");
    expect(await ask(READER, "/failed nope")).toBe(`⚠️ unknown queue "nope"; known queues: ${KIND_NAMES.join(", ")}`);
    expect(await ask(READER, "/failed")).toBe("⚠️ usage: /failed <queue>");
    expect(await ask(READER, "/failed@ta_fleet_bot llm")).toBe("✅ llm: no failed jobs");
  });

  it("/failed names the job that broke, not BullMQ's \"child … failed\", for a job its child failed", async () => {
    const k = runKey("2026-11-21", ["SOL-USD"]);
    const signals = await tf.worker(signalKind, async () => {
      throw new PermanentError("dim_signals 4 (broken): params.slow: must be greater than fast (got 10)");
    });
    const backtests = await tf.worker(backtestKind, async () => ({ mode: "signal" as const }));
    // One strategy chain as the strategies gate adds it: a backtest that its signal fails (required edge).
    const [chain] = strategyChildren(tf.fleet, "SOL-USD", k, [4]);
    await tf.fleet.flowProducer().add(chain!);
    const id = strategyJobId(4, "SOL-USD", k);
    await poll(async () => (await tf.fleet.queue(backtestKind).getJobState(id)) === "failed" || undefined, `${id} to fail`);
    await Promise.all([signals.close(), backtests.close()]);
    const reply = (await ask(READER, "/failed backtest")).split("\n");
    expect(reply[0]).toBe("❌ backtest: 1 failed job");
    expect(reply[1]).toMatch(new RegExp(`^• ${id.replaceAll(".", "\\.")} \\(signal\\) · attempts \\d/3 · \\d+ s ago$`));
    expect(reply[2]).toBe("  dim_signals 4 (broken): params.slow: must be greater than fast (got 10) (job signal/signal.4.SOL-USD.2026-11-21)");
  });

  it("/retry moves one failed job, or all of them, back to waiting", async () => {
    const one = await failedStageJob("XRP-USD");
    const q = tf.fleet.queue(stageKind);
    expect(await ask(ADMIN_CHAT, `/retry stage ${one}`)).toBe(`🔁 stage: job ${one} moved back to waiting`);
    expect(await q.getJobState(one)).toBe("waiting");
    expect(await ask(ADMIN_CHAT, `/retry stage ${one}`)).toBe(`⚠️ stage: job ${one} is waiting, not failed; nothing retried`);
    expect(await ask(ADMIN_CHAT, "/retry stage nosuchjob")).toBe("⚠️ stage: no job nosuchjob");
    expect(await ask(ADMIN_CHAT, "/retry stage bad/id")).toContain("⚠️ invalid job id");
    const failedBefore = await q.getFailedCount();
    expect(failedBefore).toBeGreaterThan(0);
    expect(await ask(ADMIN_CHAT, "/retry stage")).toBe(`🔁 stage: ${failedBefore} failed job${failedBefore === 1 ? "" : "s"} moved back to waiting`);
    expect(await q.getFailedCount()).toBe(0);
  });

  it("/pause and /resume a queue", async () => {
    const q = tf.fleet.queueByName("backtest");
    expect(await ask(ADMIN_CHAT, "/pause backtest")).toContain("⏸ backtest paused");
    expect(await q.isPaused()).toBe(true);
    expect(await ask(ADMIN_CHAT, "/pause backtest")).toBe("⏸ backtest is already paused");
    expect(await ask(READER, "/status")).toMatch(/^⏸ backtest:/m);
    expect(await ask(ADMIN_CHAT, "/resume backtest")).toBe("▶️ backtest resumed");
    expect(await q.isPaused()).toBe(false);
    expect(await ask(ADMIN_CHAT, "/resume backtest")).toBe("▶️ backtest is not paused");
  });

  it("/ack acknowledges an open alert once and explains refusals", async () => {
    const row = (await alerting.onEvent("job-stalled", { queue: "backtest", jobId: "7", name: "signal" })) as { alert_id: number };
    expect(await ask(ADMIN_CHAT, `/ack ${row.alert_id}`, 9)).toBe(`👍 alert #${row.alert_id} acknowledged by op9 (9): backtest: a job stalled (no more reminders; a resolution or escalation is still sent)`);
    const { rows } = await db.pool.query("SELECT acknowledged_by FROM observability.alerts WHERE alert_id = $1", [row.alert_id]);
    expect(rows[0].acknowledged_by).toBe("op9 (9)");
    expect(await ask(ADMIN_CHAT, `/ack #${row.alert_id}`)).toBe(`⚠️ alert #${row.alert_id} was already acknowledged by op9 (9)`);
    expect(await ask(ADMIN_CHAT, "/ack 999999")).toBe("⚠️ no alert #999999");
    expect(await ask(ADMIN_CHAT, "/ack soon")).toContain('⚠️ invalid alert id "soon"');
  });

  it("answers unknown commands and ignores plain text", async () => {
    expect(await ask(READER, "/frobnicate")).toBe("unknown command /frobnicate; /help lists the commands");
    const before = tg.sent(READER).length;
    tg.userSays(READER, "hello bot");
    expect(await ask(READER, "/help")).toContain("/retry <queue> [jobId] — retry one failed job, or all failed jobs of the queue (admin)");
    expect(tg.sent(READER)).toHaveLength(before + 1);
  });
});
