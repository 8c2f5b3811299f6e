// The `bot` process (Procfile) end to end against the fake Bot API: it watches queue events and delivers
// their alerts, answers chat-ops, refuses strangers, stops cleanly on SIGTERM, and never logs its token.
// The chat is written to test-artifacts/chat-ops-transcript.txt.
import { mkdirSync, writeFileSync } from "node:fs";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { enqueue } from "../../queues/enqueue.ts";
import { stageKind } from "../../queues/registry.ts";
import { PermanentError } from "../../workers/errors.ts";
import { startFakeTelegram, type FakeTelegram } from "../fakes/telegram.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/db.ts";
import { testFleet, type TestFleet } from "../helpers/fleet.ts";
import { reap, spawnTs, type EventProcess } from "../helpers/proc.ts";
import { redisUrl } from "../helpers/redis.ts";

const READER = 111;
const ADMIN = 222;
const STRANGER = 333;

// Each test runs its own bot process against its own fake Bot API, database and queue prefix.
let tg: FakeTelegram;
let db: TestDatabase;
let tf: TestFleet;
let bot: EventProcess;
const transcript: string[] = [];

beforeEach(async () => {
  tf = testFleet("bot");
  tg = await startFakeTelegram();
  db = await createTestDatabase();
  bot = spawnTs("apps/bot/main.ts", {
    REDIS_URL: redisUrl(),
    DATABASE_URL: db.url,
    QUEUE_PREFIX: tf.prefix,
    TELEGRAM_BOT_TOKEN: tg.token,
    TELEGRAM_API_ROOT: tg.url,
    TELEGRAM_CHAT_IDS: `${READER},${ADMIN}`,
    TELEGRAM_ADMIN_CHAT_IDS: String(ADMIN),
    DASHBOARD_URL: "https://fleet.example",
    LOG_LEVEL: "info",
    LOG_PRETTY: "0",
    NODE_ENV: "test",
  });
  await bot.waitFor("bot ready");
});

afterEach(async () => {
  if (bot) await reap([bot]);
  await Promise.allSettled([tf?.close(), tg?.close(), db?.drop()]);
});

afterAll(() => {
  mkdirSync("test-artifacts", { recursive: true });
  writeFileSync("test-artifacts/chat-ops-transcript.txt", `${transcript.join("\n\n")}\n`);
});

const who = (chat: number) => (chat === ADMIN ? "admin (chat 222)" : chat === READER ? "reader (chat 111)" : `stranger (chat ${chat})`);

async function ask(chat: number, text: string): Promise<string> {
  const before = tg.sent(chat).length;
  transcript.push(`${who(chat)} > ${text}`);
  tg.userSays(chat, text, { id: chat, first_name: "Op", username: `op${chat}` });
  const reply = (await tg.waitForSent(before + 1, chat))[before]!.text!;
  transcript.push(`bot > ${who(chat)}:\n${reply}`);
  return reply;
}

describe("bot process", () => {
  it("delivers a job failure's alert to every chat and runs a chat-ops session", async () => {
    expect(await ask(ADMIN, "/status")).toContain("📊 ta-fleet status");

    // A job fails for good in some worker; the bot sees the event and alerts both chats.
    const worker = await tf.worker(stageKind, async (p) => {
      throw new PermanentError(`no bars for ${p.asset} as of ${p.asOf}`);
    });
    const job = await enqueue(tf.fleet, stageKind, { stage: "ema", asset: "BTC-USD", asOf: "2026-11-21" });
    const [alert] = await tg.waitForSent(1, READER);
    await worker.close();
    const text = alert!.text!;
    transcript.push(`bot > both chats (alert):\n${text}`);
    expect(text).toContain("🟠 WARNING · stage/ema failed after its last attempt");
    expect(text).toContain("reason: no bars for BTC-USD as of 2026-11-21");
    // The admin chat had the /status reply; the alert is its second message.
    expect((await tg.waitForSent(2, ADMIN))[1]!.text).toBe(text);
    const alertId = /alert #(\d+)/.exec(text)![1]!;

    expect(await ask(READER, "/failed stage")).toContain(`• ${job.id} (ema) · attempts 1/3`);
    expect(await ask(READER, "/pause stage")).toContain("⛔ /pause changes the fleet");
    expect(await ask(STRANGER, "/status")).toContain("⛔ This chat is not allowed");
    expect(await ask(ADMIN, "/pause stage")).toContain("⏸ stage paused");
    expect(await ask(ADMIN, "/retry stage")).toBe("🔁 stage: 1 failed job moved back to waiting");
    expect(await ask(READER, "/status")).toMatch(/^⏸ stage: 1 waiting/m);
    expect(await ask(ADMIN, "/resume stage")).toBe("▶️ stage resumed");
    expect(await ask(ADMIN, `/ack ${alertId}`)).toContain(`👍 alert #${alertId} acknowledged by op222 (222)`);
    expect(await ask(ADMIN, "/retry nope")).toContain('⚠️ unknown queue "nope"');

    // Refusals are logged by the process.
    await bot.waitFor("chat-ops command refused", { chatId: String(STRANGER) });
    await bot.waitFor("chat-ops command refused", { chatId: String(READER), command: "pause" });
  });

  it("stops cleanly on SIGTERM, and its token never reached its output", async () => {
    // This test's own bot works a little first — a command and its reply — so its output has something to leak.
    tg.userSays(ADMIN, "/status", { id: ADMIN, first_name: "Op", username: `op${ADMIN}` });
    const [reply] = await tg.waitForSent(1, ADMIN);
    expect(reply!.text).toContain("📊 ta-fleet status");
    bot.kill("SIGTERM");
    expect(await bot.exited).toEqual({ code: 0, signal: null });
    const secret = tg.token.split(":")[1]!;
    const output = JSON.stringify(bot.events) + bot.stderr.join("");
    expect(output).toContain("bot ready");
    expect(output.includes(secret)).toBe(false);
    // It did talk to the Bot API with that token: every request it made carried it.
    const polls = tg.requests.filter((r) => r.method === "getUpdates");
    expect(polls.length).toBeGreaterThan(0);
    expect(tg.requests.filter((r) => r.token !== tg.token)).toEqual([]);
  });
});
