// Two scheduler processes on one fleet, the second registering while the first's schedules already tick:
// one job scheduler per schedule, and every tick of a once-a-second schedule yields one job, not two.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parseConfig } from "../../ops/config.ts";
import { schedules } from "../../producers/schedules.ts";
import { maintenanceKind } from "../../queues/registry.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/db.ts";
import { testFleet, type TestFleet } from "../helpers/fleet.ts";
import { reap, spawnTs, type EventProcess } from "../helpers/proc.ts";
import { redisUrl } from "../helpers/redis.ts";
import { poll } from "../helpers/wait.ts";

const EVERY_SECOND = "* * * * * *";
// Two scheduler start-ups on a busy shared 2-core machine can take minutes.
const TEST_MS = 300_000;

let db: TestDatabase;
let tf: TestFleet;
const procs: EventProcess[] = [];

beforeEach(async () => {
  db = await createTestDatabase();
  tf = testFleet("replicas-sched");
});
afterEach(async () => {
  await reap(procs.splice(0));
  await Promise.allSettled([tf?.close(), db?.drop()]);
});

function startScheduler(): EventProcess {
  const p = spawnTs("apps/scheduler/main.ts", {
    REDIS_URL: redisUrl(),
    DATABASE_URL: db.url,
    QUEUE_PREFIX: tf.prefix,
    DAILY_REFRESH_CRON: EVERY_SECOND,
    LOG_LEVEL: "info",
    LOG_PRETTY: "0",
    NODE_ENV: "test",
  });
  procs.push(p);
  return p;
}

describe("scheduler replicas", () => {
  it("two schedulers: one job scheduler per schedule and one job per tick", async () => {
    const ticks: string[] = [];
    await tf.worker(maintenanceKind, async (p, ctx) => {
      if (p.task === "daily-refresh") ticks.push(ctx.job.id!);
      return { task: p.task };
    });
    const first = startScheduler();
    await first.waitFor("schedules registered", {}, 120_000);
    await poll(() => ticks.length >= 2, "two ticks of the first scheduler", 30_000);
    // The second registers the same table while the first's jobs are being created.
    const second = startScheduler();
    await second.waitFor("schedules registered", {}, 120_000);
    const atSecond = ticks.length;
    await poll(() => ticks.length >= atSecond + 4, "four more ticks with both schedulers running", 30_000);
    console.info(`scheduler replicas: ${ticks.length} ticks, ${ticks.length - atSecond} with both registered`);

    const queue = tf.fleet.queue(maintenanceKind);
    const table = schedules(parseConfig({ DAILY_REFRESH_CRON: EVERY_SECOND })).map((s) => s.id);
    expect((await queue.getJobSchedulers(0, -1)).map((s) => s.key).sort()).toEqual([...table].sort());
    // Job ids end in the tick's time: no id and no tick twice.
    expect(new Set(ticks).size).toBe(ticks.length);
    const seconds = ticks.map((id) => Math.floor(Number(id.split(":").at(-1)) / 1000));
    expect(seconds.every(Number.isFinite)).toBe(true);
    expect(new Set(seconds).size).toBe(seconds.length);
    // Nothing waits unprocessed beside the next tick: a duplicate would sit here.
    const pending = await queue.getJobs(["wait", "delayed", "prioritized"], 0, -1);
    const nextTicks = pending.filter((j) => j.name === "daily-refresh").map((j) => j.id!);
    expect(nextTicks.length).toBeLessThanOrEqual(1);
    expect(nextTicks.filter((id) => ticks.includes(id))).toEqual([]);
  }, TEST_MS);
});
