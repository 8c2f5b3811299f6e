// Store first, then deliver, against a local fake Bot API: content per chat, retries on 429 (honouring
// retry_after) and 5xx, alerts kept while Telegram is down and delivered once (no duplicates) when it
// returns, cooldown folding with a repeat count, escalation, resolution, acknowledgement, the log-only
// mode, and the bot token never in logs, spans or stored rows.
import { trace } from "@opentelemetry/api";
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { AlertRow } from "../../db/repos/alerts.ts";
import { createAlerting, NOT_CONFIGURED_WARNING, type Alerting } from "../../alerts/alerting.ts";
import { DeliveryLoop } from "../../alerts/deliver.ts";
import { telegramApi } from "../../alerts/telegram.ts";
import { parseConfig } from "../../ops/config.ts";
import { serverError, startFakeTelegram, tooManyRequests, type FakeTelegram } from "../fakes/telegram.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/db.ts";
import { testFleet, type TestFleet } from "../helpers/fleet.ts";
import { memoryLogger } from "../helpers/log.ts";

const CHATS = ["111", "222"];
let db: TestDatabase;
let tf: TestFleet;
let tg: FakeTelegram;
let logs: ReturnType<typeof memoryLogger>;
let now: Date;
let alerting: Alerting;

const T0 = Date.parse("2026-11-22T10:00:00Z");
const setClock = (s: number) => (now = new Date(T0 + s * 1000));
const failed = (name = "ema", reason = "fetch failed: 503") => ({ queue: "stage", jobId: `stage.${name}.BTC-USD.2026-11-21`, name, attemptsMade: 3, attempts: 3, reason });

function build(env: Record<string, string> = {}) {
  const cfg = parseConfig({ TELEGRAM_BOT_TOKEN: tg.token, TELEGRAM_CHAT_IDS: CHATS.join(","), TELEGRAM_API_ROOT: tg.url, DASHBOARD_URL: "https://fleet.example", ...env });
  const api = telegramApi(cfg, 3_000);
  return createAlerting({ cfg, log: logs.log, pool: db.pool, fleet: tf.fleet, clock: () => now, ...(api ? { api } : {}) });
}

async function rows(): Promise<AlertRow[]> {
  return (await db.pool.query<AlertRow>("SELECT * FROM observability.alerts ORDER BY alert_id")).rows.map((r) => ({ ...r, alert_id: Number(r.alert_id) }));
}

const sentTexts = (chat: string) => tg.sent(chat).map((p) => p.text!);

beforeEach(async () => {
  [db, tg] = await Promise.all([createTestDatabase(), startFakeTelegram()]);
  tf = testFleet("alerts-del");
  logs = memoryLogger();
  setClock(0);
  alerting = build();
});

afterEach(async () => {
  await Promise.allSettled([tf.close(), tg.close(), db.drop()]);
});

describe("alert delivery", () => {
  it("stores the alert first, then sends one message per configured chat", async () => {
    const stored = (await alerting.onEvent("job-failed", failed())) as AlertRow;
    expect(stored.delivery_status).toBe("pending");
    expect(tg.requests).toHaveLength(0);
    expect(await alerting.deliver()).toEqual({ sent: 1, failed: 0 });
    for (const chat of CHATS) {
      expect(sentTexts(chat)).toHaveLength(1);
      const text = sentTexts(chat)[0]!;
      expect(text).toContain("🟠 WARNING · stage/ema failed after its last attempt");
      expect(text).toContain("reason: fetch failed: 503");
      expect(text).toContain("🔗 https://fleet.example/admin/queues/queue/stage?status=failed");
      expect(text).toContain(`alert #${stored.alert_id} · job-failed · /ack ${stored.alert_id}`);
    }
    const [row] = await rows();
    expect(row).toMatchObject({ delivery_status: "delivered", notified_severity: "warning", delivery_attempts: 0, last_delivery_error: null });
    expect(row!.notified_at).toEqual(now);
    expect(await alerting.deliver()).toEqual({ sent: 0, failed: 0 });
  });

  it("on 429 waits exactly retry_after before retrying, then delivers once", async () => {
    tg.script("sendMessage", tooManyRequests(7));
    await alerting.onEvent("job-failed", failed());
    const pass = await alerting.deliver();
    expect(pass.failed).toBe(1);
    expect(pass.stoppedBy).toContain("429");
    let [row] = await rows();
    expect(row!.delivery_status).toBe("pending");
    expect(row!.last_delivery_error).toContain("Telegram 429: Too Many Requests");
    expect(row!.next_delivery_at.getTime() - now.getTime()).toBe(7_000);
    setClock(6.9);
    expect(await alerting.deliver()).toEqual({ sent: 0, failed: 0 });
    setClock(7);
    expect(await alerting.deliver()).toEqual({ sent: 1, failed: 0 });
    for (const chat of CHATS) expect(sentTexts(chat)).toHaveLength(1);
    [row] = await rows();
    expect(row!.delivery_status).toBe("delivered");
  });

  it("the delivery loop retries a real 429 after retry_after seconds", async () => {
    now = new Date();
    const live = build();
    const loop = new DeliveryLoop(live.deliverer, logs.log, 50);
    tg.script("sendMessage", tooManyRequests(1));
    try {
      // The clock follows real time from here on.
      const tick = setInterval(() => (now = new Date()), 10);
      try {
        await live.onEvent("job-failed", failed());
        loop.start();
        await tg.waitForSent(1, CHATS[1]);
      } finally {
        clearInterval(tick);
      }
    } finally {
      await loop.close();
    }
    const sends = tg.requests.filter((r) => r.method === "sendMessage");
    expect(sends[0]!.status).toBe(429);
    expect(sends[1]!.at - sends[0]!.at).toBeGreaterThanOrEqual(1_000);
    for (const chat of CHATS) expect(sentTexts(chat)).toHaveLength(1);
    expect(logs.records().some((r) => r.msg === "alert delivery failed; will retry" && Number(r.retryInMs) >= 1_000)).toBe(true);
  });

  it("retries 5xx with backoff until Telegram answers, without resending to chats that got it", async () => {
    // First chat succeeds, second gets a 502 twice.
    tg.script("sendMessage", { status: 200, body: { ok: true, result: { message_id: 1, date: 0, chat: { id: 111, type: "private" }, text: "" } } }, serverError(502), serverError(503));
    await alerting.onEvent("job-failed", failed());
    expect((await alerting.deliver()).failed).toBe(1);
    let [row] = await rows();
    expect(row!.delivered_chats).toEqual(["111"]);
    const first = row!.next_delivery_at.getTime() - now.getTime();
    expect(first).toBeGreaterThanOrEqual(1_500);
    expect(first).toBeLessThanOrEqual(2_500);
    setClock(3);
    expect((await alerting.deliver()).failed).toBe(1);
    [row] = await rows();
    expect(row!.delivery_attempts).toBe(2);
    expect(row!.next_delivery_at.getTime() - now.getTime()).toBeGreaterThanOrEqual(3_000);
    setClock(3 + 300);
    expect(await alerting.deliver()).toEqual({ sent: 1, failed: 0 });
    const toFirst = tg.requests.filter((r) => r.method === "sendMessage" && r.params.chat_id === "111");
    expect(toFirst).toHaveLength(1);
    expect(sentTexts("222")).toHaveLength(1);
  });

  it("keeps alerts while Telegram is down and delivers each exactly once when it is back", async () => {
    tg.setDown(true);
    await alerting.onEvent("job-failed", failed("ema"));
    await alerting.onEvent("job-failed", failed("ta"));
    await alerting.onEvent("job-stalled", { queue: "backtest", jobId: "9", name: "signal" });
    for (let i = 0; i < 5; i++) {
      const pass = await alerting.deliver();
      expect(pass.sent).toBe(0);
      expect(pass.stoppedBy ?? "").toContain("Telegram unreachable");
      setClock((i + 1) * 400);
    }
    // Another occurrence while down folds into the pending alert instead of queueing a second message.
    await alerting.onEvent("job-failed", failed("ema"));
    expect((await rows()).every((r) => r.delivery_status === "pending" && r.resolved_at === null)).toBe(true);
    expect(tg.sent()).toHaveLength(0);
    tg.setDown(false);
    setClock(3_600);
    expect(await alerting.deliver()).toEqual({ sent: 3, failed: 0 });
    expect(await alerting.deliver()).toEqual({ sent: 0, failed: 0 });
    for (const chat of CHATS) {
      const texts = sentTexts(chat);
      expect(texts).toHaveLength(3);
      for (const r of await rows()) expect(texts.filter((t) => t.includes(`alert #${r.alert_id} `))).toHaveLength(1);
      expect(texts.find((t) => t.includes("stage/ema"))).toContain("seen 2×");
    }
  });

  it("folds repeats within the cooldown into one message with the repeat count, and escalates after more than 3", async () => {
    await alerting.onEvent("job-failed", failed());
    await alerting.deliver();
    setClock(60);
    await alerting.onEvent("job-failed", failed());
    setClock(120);
    await alerting.onEvent("job-failed", failed());
    setClock(180);
    expect(await alerting.deliver()).toEqual({ sent: 0, failed: 0 });
    const [row] = await rows();
    expect(row!.repeat_count).toBe(3);
    expect(row!.next_delivery_at.getTime()).toBe(T0 + 900_000);
    setClock(900);
    expect(await alerting.deliver()).toEqual({ sent: 1, failed: 0 });
    expect(sentTexts("111")).toHaveLength(2);
    expect(sentTexts("111")[1]).toContain("seen 3× since 2026-11-22 10:00 UTC");
    // The 4th occurrence (> ALERT_ESCALATE_AFTER = 3) is critical and goes out at once, cooldown or not.
    setClock(960);
    await alerting.onEvent("job-failed", failed());
    expect(await alerting.deliver()).toEqual({ sent: 1, failed: 0 });
    expect(sentTexts("111")[2]!.split("\n")[0]).toBe("⬆️ 🔴 CRITICAL (was WARNING) · stage/ema failed after its last attempt");
    expect(sentTexts("111")[2]).toContain("seen 4×");
  });

  it("sends a resolution when an event alert stays quiet for its cooldown, and when a condition clears", async () => {
    await alerting.onEvent("job-failed", failed());
    await alerting.deliver();
    setClock(600);
    await alerting.evaluate(now);
    expect((await rows())[0]!.resolved_at).toBeNull();
    setClock(901);
    await alerting.evaluate(now);
    expect(await alerting.deliver()).toEqual({ sent: 1, failed: 0 });
    const text = sentTexts("222")[1]!;
    expect(text.split("\n")[0]).toBe("✅ RESOLVED · stage/ema failed after its last attempt");
    expect(text).toContain("was WARNING, open 15 min");
    // A flow run alert clears with the next good run.
    await alerting.onEvent("flow-run", { runId: "r1", asOf: "2026-11-21", status: "failed", assets: [{ asset: "SPY", status: "failed", failedAt: "ema", reason: "no bars" }] });
    await alerting.deliver();
    await alerting.onEvent("flow-run", { runId: "r2", asOf: "2026-11-22", status: "completed", assets: [{ asset: "SPY", status: "completed" }] });
    await alerting.deliver();
    const last = sentTexts("111").at(-1)!;
    expect(last.split("\n")[0]).toBe("✅ RESOLVED · daily-refresh run 2026-11-21 failed");
    expect((await rows()).every((r) => r.resolved_at && r.delivery_status === "delivered")).toBe(true);
  });

  it("sends no reminders for an acknowledged alert, but still its resolution", async () => {
    const stored = (await alerting.onEvent("job-stalled", { queue: "backtest", jobId: "9", name: "signal" })) as AlertRow;
    await alerting.deliver();
    expect(await alerting.store.acknowledge(stored.alert_id, "ops", now)).toMatchObject({ ok: true });
    setClock(1_000);
    await alerting.onEvent("job-stalled", { queue: "backtest", jobId: "10", name: "signal" });
    setClock(1_900);
    expect(await alerting.deliver()).toEqual({ sent: 0, failed: 0 });
    setClock(3_000);
    await alerting.evaluate(now);
    expect(await alerting.deliver()).toEqual({ sent: 1, failed: 0 });
    expect(sentTexts("111").at(-1)).toContain("✅ RESOLVED · backtest: a job stalled");
  });

  it("without Telegram configured: one warning at start-up, alerts stored and logged", async () => {
    const quiet = memoryLogger();
    const cfg = parseConfig({});
    const local = createAlerting({ cfg, log: quiet.log, pool: db.pool, fleet: tf.fleet, clock: () => now });
    await local.onEvent("job-failed", failed());
    await local.onEvent("job-failed", failed("ta"));
    expect(await local.deliver()).toEqual({ sent: 2, failed: 0 });
    const warnings = quiet.records().filter((r) => r.msg === NOT_CONFIGURED_WARNING);
    expect(warnings).toHaveLength(1);
    const logged = quiet.records().filter((r) => String(r.msg).startsWith("alert: 🟠 WARNING · stage/"));
    expect(logged).toHaveLength(2);
    expect((await rows()).map((r) => r.delivery_status)).toEqual(["disabled", "disabled"]);
    expect(tg.requests).toHaveLength(0);
  });
});

describe("the bot token", () => {
  it("never appears in logs, spans or stored alerts, even when an error carries it", async () => {
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    trace.setGlobalTracerProvider(provider);
    try {
      // A job whose error message leaks the token (and a 401 whose description echoes it).
      await alerting.onEvent("job-failed", failed("ema", `POST ${tg.url}/bot${tg.token}/sendMessage failed`));
      tg.script("sendMessage", { status: 401, body: { ok: false, error_code: 401, description: `Unauthorized: bot${tg.token}` } });
      await alerting.deliver();
      tg.setDown(true);
      setClock(600);
      await alerting.deliver();
      tg.setDown(false);
      tg.script("sendMessage", tooManyRequests(1));
      setClock(1_200);
      await alerting.deliver();
      setClock(1_300);
      await alerting.deliver();
    } finally {
      await provider.forceFlush();
      trace.disable();
    }
    // The token was really in use (it is in the request path the fake saw) ...
    expect(tg.requests.every((r) => r.token === tg.token)).toBe(true);
    expect(tg.sent("111")).toHaveLength(1);
    // ... and nowhere else.
    const secret = tg.token.split(":")[1]!;
    const spans = exporter.getFinishedSpans();
    expect(spans.length).toBeGreaterThanOrEqual(4);
    expect(spans.some((s) => s.status.message?.includes("401"))).toBe(true);
    const haystacks = {
      logs: logs.lines.join("\n"),
      spans: JSON.stringify(spans.map((s) => ({ name: s.name, attributes: s.attributes, status: s.status, events: s.events }))),
      rows: JSON.stringify(await rows()),
      sent: JSON.stringify(tg.sent()),
    };
    for (const [where, text] of Object.entries(haystacks)) expect(text.includes(secret), `token found in ${where}`).toBe(false);
    expect(haystacks.rows).toContain("[redacted]");
  });
});
