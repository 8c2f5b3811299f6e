// Fleet-wide budgets on real Redis: atomic reserve/settle/release, leases that expire with a dead holder,
// fleet-wide back-off, and three worker processes that never overrun a budget yet use ≥ 95 % of it.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { closeRedis, createRedis, type Redis } from "../../queues/connection.ts";
import { QuotaStore, type Budget } from "../../queues/quota.ts";
import { dayKey, msUntilNextDay } from "../../queues/quota-time.ts";
import { maintenanceKind } from "../../queues/registry.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/db.ts";
import { testFleet, type TestFleet } from "../helpers/fleet.ts";
import { reap, spawnTs, type EventProcess } from "../helpers/proc.ts";
import { deletePrefix, redisUrl, uniquePrefix } from "../helpers/redis.ts";
import { poll } from "../helpers/wait.ts";

let redis: Redis;
const prefixes: string[] = [];
beforeAll(() => {
  redis = createRedis(redisUrl(), "quota-test");
});
afterAll(async () => {
  await Promise.all(prefixes.map(deletePrefix));
  await closeRedis(redis);
});
const store = (budget: Budget) => {
  const prefix = uniquePrefix("quota");
  prefixes.push(prefix);
  return new QuotaStore(redis, prefix, new Map([["p", budget]]));
};

describe("quota store", () => {
  it("never grants more than the window allows, even to concurrent reservers", async () => {
    const s = store({ window: { ms: 60_000, requests: 10 } });
    const results = await Promise.all(Array.from({ length: 50 }, () => s.reserve("p")));
    expect(results.filter((r) => r.ok)).toHaveLength(10);
    const denied = results.find((r) => !r.ok);
    expect(denied).toMatchObject({ ok: false, reason: "window" });
    expect((denied as { retryAfterMs: number }).retryAfterMs).toBeGreaterThan(0);
  });

  it("settles actual tokens and refunds released reservations", async () => {
    const s = store({ day: { requests: 100, tokens: 1_000 } });
    const a = await s.reserve("p", 400);
    const b = await s.reserve("p", 400);
    expect(a.ok && b.ok).toBe(true);
    expect((await s.reserve("p", 400)).ok).toBe(false);
    if (!a.ok || !b.ok) throw new Error("unreachable");
    await s.settle(a.lease, 100); // used less than estimated: 300 tokens come back
    await s.release(b.lease); // never called: request and tokens come back
    const u = await s.usage("p");
    expect([u.dayRequests, u.dayTokens, u.active]).toEqual([1, 100, 0]);
    expect((await s.reserve("p", 800)).ok).toBe(true);
  });

  it("frees a concurrency slot when its holder dies (lease expiry)", async () => {
    const s = store({ maxConcurrent: 1, leaseMs: 300 });
    const first = await s.reserve("p");
    expect(first.ok).toBe(true);
    const second = await s.reserve("p");
    expect(second).toMatchObject({ ok: false, reason: "concurrency" });
    // The holder "dies": nobody settles; the slot opens once the lease passes.
    const later = await poll(async () => ((await s.reserve("p")).ok ? true : undefined), "the lease to expire", 5_000);
    expect(later).toBe(true);
  });

  it("a 429 back-off applies to every reserver of the key", async () => {
    const s = store({ window: { ms: 60_000, requests: 100 } });
    await s.backoff("p", 2_000);
    const other = new QuotaStore(redis, prefixes.at(-1)!, new Map([["p", { window: { ms: 60_000, requests: 100 } }]]));
    const r = await other.reserve("p");
    expect(r).toMatchObject({ ok: false, reason: "backoff" });
    expect((r as { retryAfterMs: number }).retryAfterMs).toBeGreaterThan(1_000);
  });

  it("computes local days and the time to the next local midnight", () => {
    const t = Date.parse("2026-03-29T00:30:00Z"); // Europe/Berlin switches to summer time that night
    expect(dayKey(t, "UTC")).toBe("2026-03-29");
    expect(dayKey(t, "America/New_York")).toBe("2026-03-28");
    expect(msUntilNextDay(t, "UTC")).toBe(23.5 * 3600_000);
    expect(msUntilNextDay(Date.parse("2026-03-28T23:30:00Z"), "Europe/Berlin")).toBe(22.5 * 3600_000);
  });
});

describe("quota across worker processes", () => {
  let db: TestDatabase;
  let tf: TestFleet;
  const procs: EventProcess[] = [];
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(() => db.drop());
  afterEach(async () => {
    await reap(procs.splice(0));
    await tf?.close();
  });

  it("3 processes never exceed a per-window budget and use at least 95 % of it", async () => {
    tf = testFleet("q3");
    const windowMs = 1_000;
    const perWindow = 20;
    const windows = 5;
    const budget = { window: { ms: windowMs, requests: perWindow } };
    for (let i = 0; i < 3; i++) {
      procs.push(spawnTs("test/fixtures/fixture-worker.ts", { REDIS_URL: redisUrl(), DATABASE_URL: db.url, PREFIX: tf.prefix, CONCURRENCY: "8", QUOTA_BUDGET: JSON.stringify(budget) }));
    }
    await Promise.all(procs.map((p) => p.waitFor("ready")));
    const total = perWindow * (windows + 2);
    await tf.fleet.queue(maintenanceKind).addBulk(
      Array.from({ length: total }, (_, i) => ({ name: "smoke", data: { task: "smoke", id: `q${i}`, message: "q" }, opts: { jobId: `smoke.q${i}` } })),
    );
    await poll(async () => (await db.pool.query("SELECT count(*)::int AS n FROM fleet_smoke")).rows[0].n === total || undefined, "all jobs to run", 30_000);
    // Each start carries the instant its reservation was evaluated: count grants per budget window.
    const starts = procs.flatMap((p) => p.events.filter((e) => e.event === "started"));
    expect(starts).toHaveLength(total);
    // Horizontal scale: every process took a share, and no job ran twice.
    const share = await db.pool.query<{ workers: number; max_runs: number }>("SELECT count(DISTINCT worker_pid)::int AS workers, max(runs) AS max_runs FROM fleet_smoke");
    expect(share.rows[0]).toEqual({ workers: 3, max_runs: 1 });
    const perBucket = new Map<number, number>();
    for (const e of starts) {
      const w = Math.floor(Number(e.grantedAt) / windowMs);
      perBucket.set(w, (perBucket.get(w) ?? 0) + 1);
    }
    const counts = [...perBucket.entries()].sort(([a], [b]) => a - b).map(([, n]) => n);
    expect(Math.max(...counts)).toBeLessThanOrEqual(perWindow);
    // Whole windows between the first and the last: the budget must be used, not left idle.
    const full = counts.slice(1, -1);
    expect(full.length).toBeGreaterThanOrEqual(windows - 1);
    const used = full.reduce((a, b) => a + b, 0) / (full.length * perWindow);
    expect(used).toBeGreaterThanOrEqual(0.95);
  });
});
