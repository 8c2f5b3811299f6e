// The production worker process (apps/worker/main.ts on the maintenance queue, the real smoke processor)
// under real faults: kill -9 mid-job, SIGTERM mid-job, shutdown overrunning its bound; payloads that
// bypassed validation; and CPU-heavy work longer than the job lock.
//
// "Mid-job" without a test-only processor: the smoke processor's one statement is an
// `INSERT … ON CONFLICT (job_id)` into fleet_smoke. The test inserts the same job id first in a transaction
// it keeps open, so the worker's statement waits on that row — visibly, in pg_stat_activity — for as long
// as the test wants; rolling back lets it through. The test database sets client_connection_check_interval
// so that the server notices a killed worker's connection and drops its waiting statement instead of
// running it once the row is free (see holdRow / orphanGone).
import { Job, Queue } from "bullmq";
import { resolve } from "node:path";
import type { PoolClient } from "pg";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { maintenanceKind } from "../../queues/registry.ts";
import { enqueue } from "../../queues/enqueue.ts";
import { createComputePool } from "../../workers/threads/pool.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/db.ts";
import { testFleet, type TestFleet } from "../helpers/fleet.ts";
import { reap, spawnTs, type EventProcess } from "../helpers/proc.ts";
import { redisUrl } from "../helpers/redis.ts";
import { poll } from "../helpers/wait.ts";

let db: TestDatabase;
let tf: TestFleet | undefined;
const procs: EventProcess[] = [];
const holds: PoolClient[] = [];
// Each test gets its own database and queue prefix.
beforeEach(async () => {
  db = await createTestDatabase();
  // Sessions opened from now on (the workers') check every 100 ms while a statement runs or waits that
  // their client is still there; a SIGKILLed worker's waiting INSERT is then cancelled by the server.
  await db.pool.query(`ALTER DATABASE ${new URL(db.url).pathname.slice(1)} SET client_connection_check_interval = '100ms'`);
});
afterEach(async () => {
  await reap(procs.splice(0));
  for (const c of holds.splice(0)) {
    await c.query("ROLLBACK").catch(() => {});
    c.release();
  }
  await tf?.close();
  tf = undefined;
  await db.drop();
});

/** `apps/worker/main.ts` consuming the maintenance queue only, one job at a time. */
async function worker(fleet: TestFleet, env: Record<string, string> = {}): Promise<EventProcess> {
  const p = spawnTs("apps/worker/main.ts", {
    REDIS_URL: redisUrl(),
    DATABASE_URL: db.url,
    QUEUE_PREFIX: fleet.prefix,
    WORKER_QUEUES: "maintenance",
    WORKER_CONCURRENCY: "1",
    COMPUTE_THREADS: "1",
    LOG_LEVEL: "info",
    LOG_PRETTY: "false",
    NODE_ENV: "test",
    ...env,
  });
  procs.push(p);
  await p.waitFor("worker ready", {}, 60_000);
  return p;
}

const smoke = (fleet: TestFleet, id: string) => enqueue(fleet.fleet, maintenanceKind, { task: "smoke", id, message: "reliability" });
const effect = async (jobId: string) =>
  (await db.pool.query<{ runs: number; worker_pid: number; message: string }>("SELECT runs, worker_pid, message FROM fleet_smoke WHERE job_id = $1", [jobId])).rows;
const job = async (fleet: TestFleet, id: string) => (await Job.fromId(fleet.fleet.queue(maintenanceKind), id))!;
const settled = (fleet: TestFleet, id: string, timeoutMs: number) =>
  poll(async () => {
    const s = await fleet.fleet.queue(maintenanceKind).getJobState(id);
    return s === "completed" || s === "failed" ? s : undefined;
  }, `job ${id} to finish`, timeoutMs);

/** Inserts job `jobId`'s row in a transaction left open: the smoke processor's INSERT for it waits. */
async function holdRow(jobId: string): Promise<{ release(): Promise<void> }> {
  const c = await db.pool.connect();
  holds.push(c);
  await c.query("BEGIN");
  await c.query("INSERT INTO fleet_smoke (job_id, message, worker_pid) VALUES ($1, 'held by the test', 0)", [jobId]);
  return {
    async release() {
      await c.query("ROLLBACK");
      holds.splice(holds.indexOf(c), 1);
      c.release();
    },
  };
}

/** The backend pid of a worker's smoke INSERT waiting on the held row: the job is mid-run. */
const waitingInsert = () =>
  poll(async () => {
    const { rows } = await db.pool.query<{ pid: number }>(
      `SELECT pid FROM pg_stat_activity
       WHERE datname = current_database() AND application_name = 'ta-fleet:worker'
         AND wait_event_type = 'Lock' AND query LIKE 'INSERT INTO fleet_smoke%'`,
    );
    return rows.length ? rows.map((r) => r.pid) : undefined;
  }, "a worker's smoke INSERT waiting on the held row").then((pids) => {
    expect(pids).toHaveLength(1);
    return pids[0]!;
  });

/** The server dropped that backend (its client is gone): its statement can no longer run. */
const orphanGone = (backendPid: number) =>
  poll(async () => (await db.pool.query("SELECT 1 FROM pg_stat_activity WHERE pid = $1", [backendPid])).rowCount === 0, `backend ${backendPid} to end`, 10_000);

describe("reliability of the worker process", () => {
  it("kill -9 mid-job: the job completes once, on another worker, after stall detection", { timeout: 180_000 }, async () => {
    const t = (tf = testFleet("kill"));
    const a = await worker(t);
    const hold = await holdRow("smoke.kill9");
    const j = await smoke(t, "kill9");
    const backend = await waitingInsert();
    expect(await t.fleet.queue(maintenanceKind).getJobState(j.id!)).toBe("active");
    a.kill("SIGKILL");
    expect(await a.exited).toEqual({ code: null, signal: "SIGKILL" });
    await orphanGone(backend);
    await hold.release();
    expect(await effect(j.id!)).toEqual([]);
    // Production lock and stall settings (30 s each): the job's lock lapses 30 s after it was taken; a
    // stalled check (one per 30 s across the fleet) marks the job, the next one hands it back — within the
    // two stalled intervals the README promises, plus the second worker's start-up.
    const b = await worker(t);
    expect(await settled(t, j.id!, 90_000)).toBe("completed");
    expect(await effect(j.id!)).toEqual([{ runs: 1, worker_pid: b.pid, message: "reliability" }]);
    const done = await job(t, j.id!);
    expect(done.returnvalue).toEqual({ task: "smoke", runs: 1, pid: b.pid });
    expect(done.stalledCounter).toBe(1);
    expect(done.attemptsMade).toBe(1);
  });

  it("SIGTERM mid-job: the job finishes, the queued one stays queued for the next worker, exit 0", { timeout: 120_000 }, async () => {
    const t = (tf = testFleet("term"));
    const a = await worker(t);
    const hold = await holdRow("smoke.sigterm");
    const first = await smoke(t, "sigterm");
    await waitingInsert();
    // Concurrency 1: the second job waits behind the first.
    const second = await smoke(t, "queued");
    const signalledAt = Date.now();
    a.kill("SIGTERM");
    await a.waitFor("shutting down");
    // Still mid-job: the process waits for it instead of exiting or handing it back.
    expect(await t.fleet.queue(maintenanceKind).getJobState(first.id!)).toBe("active");
    expect(a.child.exitCode).toBeNull();
    await hold.release();
    expect(await a.exited).toEqual({ code: 0, signal: null });
    const done = await job(t, first.id!);
    expect(await done.getState()).toBe("completed");
    expect(done.finishedOn).toBeGreaterThan(signalledAt);
    expect(done.stalledCounter).toBe(0);
    expect(done.attemptsMade).toBe(1);
    expect(await effect(first.id!)).toEqual([{ runs: 1, worker_pid: a.pid, message: "reliability" }]);
    // A closing worker fetches nothing more: the queued job is untouched, and the next worker runs it.
    const queued = await job(t, second.id!);
    expect(await queued.getState()).toBe("waiting");
    expect(queued.attemptsMade).toBe(0);
    expect(await effect(second.id!)).toEqual([]);
    const b = await worker(t);
    expect(await settled(t, second.id!, 20_000)).toBe("completed");
    expect(await effect(second.id!)).toEqual([{ runs: 1, worker_pid: b.pid, message: "reliability" }]);
  });

  it("a job outliving WORKER_SHUTDOWN_MS is stopped and handed back without spending an attempt", { timeout: 120_000 }, async () => {
    const t = (tf = testFleet("bound"));
    const a = await worker(t, { WORKER_SHUTDOWN_MS: "500" });
    const hold = await holdRow("smoke.bound");
    const j = await smoke(t, "bound");
    const backend = await waitingInsert();
    a.kill("SIGTERM");
    expect(await a.exited).toEqual({ code: 0, signal: null });
    const back = await job(t, j.id!);
    expect(await back.getState()).toBe("waiting");
    expect(back.attemptsMade).toBe(0);
    // The INSERT the process left waiting died with its connection; releasing the row runs nothing.
    await orphanGone(backend);
    await hold.release();
    expect(await effect(j.id!)).toEqual([]);
    const b = await worker(t);
    expect(await settled(t, j.id!, 20_000)).toBe("completed");
    expect(await effect(j.id!)).toEqual([{ runs: 1, worker_pid: b.pid, message: "reliability" }]);
    expect((await job(t, j.id!)).attemptsMade).toBe(1);
  });

  it("a payload added around validation fails as unrecoverable, naming the field, with zero retries", { timeout: 90_000 }, async () => {
    const t = (tf = testFleet("raw"));
    const a = await worker(t);
    const raw = new Queue(maintenanceKind.name, { connection: { url: redisUrl() }, prefix: t.prefix });
    try {
      const bad = await raw.add("smoke", { task: "smoke", id: "bad id!", message: "x" }, { attempts: 5 });
      const failed = await poll(async () => {
        const j = await Job.fromId(raw, bad.id!);
        return (await j?.getState()) === "failed" ? j : undefined;
      }, "the bad job to fail");
      expect(failed.failedReason).toMatch(/^maintenance payload invalid: id: must be 1-64 letters.*\(got "bad id!"\)/);
      expect(failed.attemptsMade).toBe(1);
      await a.waitFor("invalid payload; failing without retry", { jobId: bad.id });
      // The processor never ran: no effect at all.
      expect(await effect(bad.id!)).toEqual([]);
      expect((await db.pool.query("SELECT count(*)::int AS n FROM fleet_smoke")).rows[0].n).toBe(0);
    } finally {
      await raw.close();
    }
  });

  it("CPU-heavy work in the compute pool outlives the lock and still runs exactly once", async () => {
    const t = (tf = testFleet("cpu"));
    const pool = createComputePool({ taskModule: resolve(import.meta.dirname, "../fixtures/burn-task.ts"), threads: 1 });
    let runs = 0;
    const stalled: string[] = [];
    try {
      const w = await t.worker(
        maintenanceKind,
        async (p, ctx) => {
          runs++;
          await pool.run("burn", { ms: 2_500 }, ctx.signal);
          return { task: p.task };
        },
        { lockDurationMs: 600, stalledIntervalMs: 300, concurrency: 1 },
      );
      w.worker.on("stalled", (id) => stalled.push(id));
      const j = await smoke(t, "cpu");
      expect(await settled(t, j.id!, 30_000)).toBe("completed");
      expect(runs).toBe(1);
      expect(stalled).toEqual([]);
    } finally {
      await pool.close();
    }
  });
});
