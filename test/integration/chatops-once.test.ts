// The bot acts at most once per Telegram update: a bot killed after acting but before confirming the
// update gets it again from Telegram when it restarts, and must skip it. Commands addressed to another bot
// (`/cmd@other_bot`) are not its to answer.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startFakeTelegram, type FakeTelegram } from "../fakes/telegram.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/db.ts";
import { testFleet, type TestFleet } from "../helpers/fleet.ts";
import { reap, spawnTs, type EventProcess } from "../helpers/proc.ts";
import { redisUrl } from "../helpers/redis.ts";
import { poll } from "../helpers/wait.ts";

const ADMIN = 222;

let tg: FakeTelegram;
let db: TestDatabase;
let tf: TestFleet;
const procs: EventProcess[] = [];

// Each test: its own fake Bot API (updates, replies), database and queue prefix.
beforeEach(async () => {
  tf = testFleet("once");
  tg = await startFakeTelegram();
  db = await createTestDatabase();
});
afterEach(async () => {
  await reap(procs.splice(0));
  await Promise.allSettled([tf?.close(), tg?.close(), db?.drop()]);
});

async function startBot(): Promise<EventProcess> {
  const bot = spawnTs("apps/bot/main.ts", {
    REDIS_URL: redisUrl(),
    DATABASE_URL: db.url,
    QUEUE_PREFIX: tf.prefix,
    TELEGRAM_BOT_TOKEN: tg.token,
    TELEGRAM_API_ROOT: tg.url,
    TELEGRAM_CHAT_IDS: String(ADMIN),
    TELEGRAM_ADMIN_CHAT_IDS: String(ADMIN),
    LOG_LEVEL: "info",
    LOG_PRETTY: "0",
    NODE_ENV: "test",
  });
  procs.push(bot);
  await bot.waitFor("bot ready");
  return bot;
}

/** Every sendMessage the bot attempted to the admin chat, answered or not. */
const repliesTried = () => tg.requests.filter((r) => r.method === "sendMessage" && r.params.chat_id === String(ADMIN));

describe("chat-ops updates", () => {
  it("a /pause redelivered after the bot was killed before confirming it takes effect once", async () => {
    const first = await startBot();
    // The reply never gets an answer: the bot has acted and is still waiting when it is killed.
    tg.script("sendMessage", "hang");
    const updateId = tg.userSays(ADMIN, "/pause stage");
    await poll(() => repliesTried().length === 1, "the bot to act and send its /pause reply");
    expect(await tf.fleet.queueByName("stage").isPaused()).toBe(true);
    first.kill("SIGKILL");
    await first.exited;
    // Telegram never saw a getUpdates confirming the update (offset beyond it), so it hands it out again.
    expect(tg.requests.some((r) => r.method === "getUpdates" && Number(r.params.offset) > updateId)).toBe(false);

    const second = await startBot();
    await second.waitFor("chat-ops update already handled (redelivered); skipped", { updateId });
    await poll(() => tg.requests.some((r) => r.method === "getUpdates" && Number(r.params.offset) > updateId), "the restarted bot to confirm the update");
    // Acting again would have answered "⏸ stage is already paused".
    expect(repliesTried()).toHaveLength(1);
    expect(await tf.fleet.queueByName("stage").isPaused()).toBe(true);

    second.kill("SIGTERM");
    expect(await second.exited).toEqual({ code: 0, signal: null });
  });

  it("ignores a command addressed to another bot, and answers one addressed to it in any case", async () => {
    await startBot();
    tg.userSays(ADMIN, "/pause@OtherBot signal");
    tg.userSays(ADMIN, "/status@TA_Fleet_Bot");
    // Updates are handled in order: once /status is answered, the /pause@OtherBot before it was handled too.
    const replies = await tg.waitForSent(1, ADMIN);
    expect(replies.map((r) => r.text!.split("\n")[0])).toEqual([expect.stringMatching(/^📊 ta-fleet status/)]);
    expect(repliesTried()).toHaveLength(1);
    expect(await tf.fleet.queueByName("signal").isPaused()).toBe(false);
  });
});
