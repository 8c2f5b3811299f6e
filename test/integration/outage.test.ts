// Faults of ordinary operation at the runtime level, against a PostgreSQL of this file's own that it stops
// and starts (the shared test server cannot be stopped): a checked-out client survives a server restart,
// a job hit by an outage waits without spending attempts (and spends them once the tolerance is over), the
// outage is logged once per change; and jobs nobody can read end in `failed` while the worker goes on.
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Job } from "bullmq";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createPool, inTransaction, type Pool } from "../../db/pool.ts";
import { startPostgres, stopPostgres } from "../../ops/embedded/postgres.ts";
import { DependencyMonitor, isOutageError } from "../../ops/outage.ts";
import { createRedis, closeRedis } from "../../queues/connection.ts";
import { maintenanceKind } from "../../queues/registry.ts";
import { testFleet, type TestFleet } from "../helpers/fleet.ts";
import { freePort } from "../helpers/net.ts";
import { redisUrl } from "../helpers/redis.ts";
import { deferred, poll } from "../helpers/wait.ts";

let dir: string;
let port: number;
let url: string;
let pool: Pool;
let tf: TestFleet | undefined;
const clientErrors: Error[] = [];

const startPg = () => startPostgres(dir, port, () => {}, { ephemeral: true });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "ta-faults-"));
  chmodSync(dir, 0o755);
  port = await freePort();
  ({ url } = await startPg());
  pool = createPool(url, { max: 4, onError: (err) => clientErrors.push(err) });
}, 120_000);

afterAll(async () => {
  await pool?.end().catch(() => {});
  if (dir) {
    await stopPostgres(dir).catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }
}, 60_000);

afterEach(async () => {
  await tf?.close();
  tf = undefined;
  // Every test leaves the server running for the next.
  await startPg();
});

const smoke = (id: string) => ({ task: "smoke" as const, id, message: "m" });

describe("PostgreSQL restarts", () => {
  it("a client checked out inside a transaction gets the error, the process lives, the pool recovers", async () => {
    const inside = deferred();
    const stopped = deferred();
    const tx = inTransaction(pool, async (client) => {
      inside.resolve();
      await stopped.promise;
      return client.query("SELECT 1 AS one");
    });
    await inside.promise;
    await stopPostgres(dir); // pg_ctl -m fast: the backend is terminated with 57P01
    stopped.resolve();
    const err = await tx.then(() => undefined, (e: Error) => e);
    expect(err && isOutageError(err)).toBe(true);
    expect(clientErrors.some((e) => /57P01|terminat/i.test(`${(e as { code?: string }).code} ${e.message}`))).toBe(true);
    await startPg();
    // The broken client was discarded: every client the pool hands out works.
    const ones = await Promise.all(Array.from({ length: 4 }, () => pool.query("SELECT 1 AS one")));
    expect(ones.map((r) => r.rows[0].one)).toEqual([1, 1, 1, 1]);
  });

  it("a job hit by the outage waits without spending attempts and completes when the server is back; two log lines", async () => {
    tf = testFleet("outage");
    const log = tf.log;
    const redis = createRedis(redisUrl(), "test-monitor");
    const deps = new DependencyMonitor(log.log, { postgres: () => pool.query("SELECT 1"), redis: () => redis.ping() }, { recheckMs: 200 });
    let runs = 0;
    try {
      await tf.worker(
        maintenanceKind,
        async (p) => {
          runs++;
          await pool.query("SELECT pg_sleep(0)");
          return { task: p.task };
        },
        { deps, outage: { toleranceMs: 60_000, baseDelayMs: 100, maxDelayMs: 400 } },
      );
      await stopPostgres(dir);
      const q = tf.fleet.queue(maintenanceKind);
      const job = await q.add("smoke", smoke("outage-1"), { attempts: 2 });
      await poll(() => runs >= 4, "several deferred runs during the outage", 20_000);
      const during = await Job.fromId(q, job.id!);
      expect(during?.attemptsMade).toBe(0);
      expect(await during?.getState()).not.toBe("failed");
      await startPg();
      // State first, then the job: read the other way round, the job could be the active one that then
      // finished, its attempt not yet counted.
      const done = await poll(async () => ((await q.getJobState(job.id!)) === "completed" ? Job.fromId(q, job.id!) : undefined), "the job to complete after the outage", 20_000);
      // The successful attempt is the only one counted.
      expect(done.attemptsMade).toBe(1);
      await poll(() => !deps.isDown("postgres"), "the monitor to see PostgreSQL back");
      const lines = log.records().map((r) => String(r.msg));
      expect(lines.filter((m) => m.startsWith("PostgreSQL unreachable"))).toHaveLength(1);
      expect(lines.filter((m) => m === "PostgreSQL reachable again")).toHaveLength(1);
      expect(lines.filter((m) => m === "job failed")).toEqual([]);
    } finally {
      deps.close();
      await closeRedis(redis);
    }
  });

  it("past the outage tolerance attempts are spent as for any error", async () => {
    tf = testFleet("tolerance");
    await tf.worker(maintenanceKind, async (p) => (await pool.query("SELECT 1"), { task: p.task }), { outage: { toleranceMs: 800, baseDelayMs: 100, maxDelayMs: 200 } });
    await stopPostgres(dir);
    const q = tf.fleet.queue(maintenanceKind);
    const job = await q.add("smoke", smoke("tolerance-1"), { attempts: 2, backoff: { type: "fixed", delay: 50 } });
    const failed = await poll(async () => {
      const j = await Job.fromId(q, job.id!);
      return (await j?.getState()) === "failed" ? j : undefined;
    }, "the job to fail once the tolerance is spent", 20_000);
    expect(failed.attemptsMade).toBe(2);
    expect(failed.failedReason).toMatch(/ECONNREFUSED|connect/);
  });
});

describe("jobs nobody can read", () => {
  it("unreadable data, unreadable options and an unknown name end in failed with the reason; the worker serves on", async () => {
    tf = testFleet("poison");
    const ran: string[] = [];
    const w = await tf.worker(maintenanceKind, async (p) => (ran.push(p.task === "smoke" ? p.id : p.task), { task: p.task }), {
      lockDurationMs: 1_000,
      stalledIntervalMs: 500,
      concurrency: 2,
    });
    const q = tf.fleet.queue(maintenanceKind);
    const raw = createRedis(redisUrl(), "test-poison");
    try {
      // Jobs are corrupted while the worker is paused, so it meets them as they are.
      await w.worker.pause();
      const badData = await q.add("smoke", smoke("bad-data"));
      const badOpts = await q.add("smoke", smoke("bad-opts"));
      const badName = await q.add("bogus", smoke("bad-name"));
      const good = await q.add("smoke", smoke("good"));
      await raw.hset(`${tf.prefix}:${maintenanceKind.name}:${badData.id}`, "data", "{not json");
      await raw.hset(`${tf.prefix}:${maintenanceKind.name}:${badOpts.id}`, "opts", "{not json either");
      await w.worker.resume();
      // Read raw: the test cannot build these jobs any more than the worker could.
      const ids = [badData, badOpts, badName].map((j) => j.id!);
      const reasons = await poll(async () => {
        const failed = await Promise.all(ids.map((id) => raw.zscore(`${tf!.prefix}:${maintenanceKind.name}:failed`, id)));
        if (failed.some((score) => score === null)) return undefined;
        return Promise.all(ids.map((id) => raw.hget(`${tf!.prefix}:${maintenanceKind.name}:${id}`, "failedReason")));
      }, "every unreadable job to fail", 30_000);
      expect(reasons[0]).toMatch(/^unreadable job data \(.*JSON.*\): "\{not json"$/);
      expect(reasons[1]).toBe('unreadable job options (not JSON): "{not json either"');
      expect(reasons[2]).toBe('unknown job name "bogus" for this maintenance payload (expected "smoke")');
      // Failed jobs stay readable for whatever lists them (bull-board, the dashboard, chat-ops).
      const failed = await q.getJobs(["failed"]);
      expect(failed.find((j) => j.id === badData.id)?.data).toEqual({ _unreadable: "{not json" });
      expect(await (await Job.fromId(q, good.id!))?.getState()).toBe("completed");
      // The worker serves new work after all of it.
      const after = await q.add("smoke", smoke("after"));
      await poll(async () => (await (await Job.fromId(q, after.id!))?.getState()) === "completed", "a job after the poison ones");
      expect(ran.sort()).toEqual(["after", "good"]);
      expect(w.worker.isRunning()).toBe(true);
    } finally {
      await closeRedis(raw);
    }
  }, 60_000);
});
