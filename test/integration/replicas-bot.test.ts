// Two bot processes on one fleet: the Redis lease makes one active and the other standby (the standby sends
// Telegram nothing: one getUpdates poller per token). Killed with SIGKILL, the active one is replaced
// within BOT_LEASE_MS + the retry interval, and an alert and a command raised across the takeover are
// delivered and answered exactly once; a bot stopped with SIGTERM releases the lease at once.
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { enqueue } from "../../queues/enqueue.ts";
import { stageKind } from "../../queues/registry.ts";
import { PermanentError } from "../../workers/errors.ts";
import { startFakeTelegram, type FakeTelegram } from "../fakes/telegram.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/db.ts";
import { testFleet, type TestFleet } from "../helpers/fleet.ts";
import { freePort } from "../helpers/net.ts";
import { reap, spawnTs, type EventProcess } from "../helpers/proc.ts";
import { redisUrl } from "../helpers/redis.ts";
import { poll } from "../helpers/wait.ts";

const READER = 111;
const ADMIN = 222;
const LEASE_MS = 3_000;
const RETRY_MS = 300;
// Three bot processes start in this test; on a busy shared 2-core machine each can take a minute.
const STARTUP_MS = 120_000;
// Time for the new holder to start acting (a Redis connection, the event positions) on a busy 2-core machine.
const START_SLACK_MS = 2_000;

interface Call {
  bot: string;
  method: string;
  start: number;
  end?: number;
}

let tg: FakeTelegram;
let db: TestDatabase;
let tf: TestFleet;
const procs: EventProcess[] = [];
const proxies: Server[] = [];
const calls: Call[] = [];

beforeEach(async () => {
  tf = testFleet("replicas-bot");
  tg = await startFakeTelegram();
  db = await createTestDatabase();
});
afterEach(async () => {
  await reap(procs.splice(0));
  await Promise.all(proxies.splice(0).map((s) => new Promise<void>((r) => (s.close(() => r()), s.closeAllConnections()))));
  calls.length = 0;
  await Promise.allSettled([tf?.close(), tg?.close(), db?.drop()]);
});

/** A pass-through to the fake Bot API that records which bot made each call, and when it ended. */
async function proxyFor(bot: string): Promise<string> {
  const server = createServer((req, res) => {
    const call: Call = { bot, method: /\/([A-Za-z]+)$/.exec(req.url ?? "")?.[1] ?? "?", start: Date.now() };
    calls.push(call);
    const upstream = request(`${tg.url}${req.url}`, { method: req.method, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    upstream.on("error", () => res.destroy());
    // The bot went away (killed) or the answer is complete: either way the call ends here.
    res.on("close", () => {
      call.end = Date.now();
      upstream.destroy();
    });
    req.pipe(upstream);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  proxies.push(server);
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

interface Bot {
  proc: EventProcess;
  port: number;
  token: string;
  role: string;
}

async function startBot(name: string): Promise<Bot> {
  const port = await freePort();
  const proc = spawnTs("apps/bot/main.ts", {
    REDIS_URL: redisUrl(),
    DATABASE_URL: db.url,
    QUEUE_PREFIX: tf.prefix,
    TELEGRAM_BOT_TOKEN: tg.token,
    TELEGRAM_API_ROOT: await proxyFor(name),
    TELEGRAM_CHAT_IDS: String(READER),
    TELEGRAM_ADMIN_CHAT_IDS: String(ADMIN),
    BOT_LEASE_MS: String(LEASE_MS),
    HEALTH_PORT: String(port),
    LOG_LEVEL: "info",
    LOG_PRETTY: "0",
    NODE_ENV: "test",
  });
  procs.push(proc);
  const ready = await proc.waitFor("bot ready", {}, STARTUP_MS);
  return { proc, port, token: String(ready.holder), role: String(ready.role) };
}

async function leaseCheck(bot: Bot): Promise<string> {
  const body = (await (await fetch(`http://127.0.0.1:${bot.port}/health/readiness`)).json()) as { details: { checks: Record<string, { ok: boolean; message: string }> } };
  expect(body.details.checks.lease!.ok).toBe(true);
  return body.details.checks.lease!.message;
}

const alertRows = async () =>
  (await db.pool.query<{ alert_key: string; delivery_status: string }>("SELECT alert_key, delivery_status FROM observability.alerts ORDER BY alert_id")).rows;

const delivered = (key: string) => poll(async () => (await alertRows()).some((r) => r.alert_key === key && r.delivery_status === "delivered"), `alert ${key} delivered`);

const say = (text: string) => tg.userSays(ADMIN, text, { id: ADMIN, first_name: "Op", username: "op" });
const polls = (bot: string) => calls.filter((c) => c.bot === bot && c.method === "getUpdates");

describe("bot replicas", () => {
  it("one active, one standby; after kill -9 the standby takes over in time and nothing is done twice", async () => {
    await tf.worker(stageKind, async (p) => {
      throw new PermanentError(`no bars for ${p.asset}`);
    });
    const a = await startBot("a");
    const b = await startBot("b");
    expect([a.role, b.role]).toEqual(["active", "standby"]);
    expect(await leaseCheck(a)).toBe(`active (${a.token})`);
    expect(await leaseCheck(b)).toBe(`standby (active: ${a.token})`);

    // Before the kill: a command answered and an alert delivered, by the active bot.
    say("/status");
    expect((await tg.waitForSent(1, ADMIN))[0]!.text).toContain("📊 ta-fleet status");
    await enqueue(tf.fleet, stageKind, { stage: "ema", asset: "BTC-USD", asOf: "2026-11-21" });
    await tg.waitForSent(1, READER);
    // Recorded as delivered before the kill: a holder killed between Telegram's answer and this record
    // would have its alert sent again once the claim's lease ends (README "Running many replicas").
    await delivered("job-failed:stage:ema");
    expect(polls("a").length).toBeGreaterThan(0);
    // The standby has not said a word to Telegram, over several of the holder's renewals.
    expect(calls.filter((c) => c.bot === "b")).toEqual([]);

    a.proc.kill("SIGKILL");
    const killedAt = Date.now();
    await a.proc.exited;
    // Across the takeover: a command and a job failure while nobody is active.
    say("/help");
    await enqueue(tf.fleet, stageKind, { stage: "ta", asset: "BTC-USD", asOf: "2026-11-21" });

    const active = await b.proc.waitFor("bot active");
    const takeoverMs = Number(active.time) - killedAt;
    console.info(`bot takeover after kill -9: ${takeoverMs} ms (lease ${LEASE_MS} ms, retry ${RETRY_MS} ms)`);
    expect(takeoverMs).toBeLessThan(LEASE_MS + RETRY_MS + START_SLACK_MS);
    expect(await leaseCheck(b)).toBe(`active (${b.token})`);

    const replies = await tg.waitForSent(2, ADMIN);
    expect(replies[1]!.text).toContain("ta-fleet chat-ops:");
    await tg.waitForSent(2, READER);
    await delivered("job-failed:stage:ta");
    // A third command answered after the others: nothing was answered twice before it.
    say("/help");
    await tg.waitForSent(3, ADMIN);
    expect(tg.sent(ADMIN).map((m) => m.text!.split("\n")[0])).toEqual([expect.stringMatching(/^📊 ta-fleet status/), "ta-fleet chat-ops:", "ta-fleet chat-ops:"]);
    // Each alert once, and none left to deliver again.
    expect(tg.sent(READER).map((m) => /stage\/(\w+) failed/.exec(m.text!)?.[1])).toEqual(["ema", "ta"]);
    expect(await alertRows()).toEqual([
      { alert_key: "job-failed:stage:ema", delivery_status: "delivered" },
      { alert_key: "job-failed:stage:ta", delivery_status: "delivered" },
    ]);

    // One getUpdates poller at a time: b polled only after a's last poll had ended, and every poll the fake
    // saw came through one of them.
    const aLast = Math.max(...polls("a").map((c) => c.end ?? Infinity));
    expect(polls("b").length).toBeGreaterThan(0);
    expect(Math.min(...polls("b").map((c) => c.start))).toBeGreaterThanOrEqual(aLast);
    // (The proxy counts a call before the fake receives it: equal once none is between the two.)
    await poll(() => tg.requests.filter((r) => r.method === "getUpdates").length === polls("a").length + polls("b").length, "every getUpdates the fake saw to be one the proxies passed", 10_000);

    // A graceful stop releases the lease: a replacement standby takes over without waiting for it to expire.
    const c = await startBot("c");
    expect(c.role).toBe("standby");
    b.proc.kill("SIGTERM");
    expect(await b.proc.exited).toEqual({ code: 0, signal: null });
    expect(await tf.fleet.redis.get(`${tf.prefix}:bot:lease`)).not.toBe(b.token);
    await c.proc.waitFor("bot active");
    expect(await tf.fleet.redis.get(`${tf.prefix}:bot:lease`)).toBe(c.token);
  }, 3 * STARTUP_MS);
});
