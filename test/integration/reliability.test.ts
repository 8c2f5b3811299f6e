// Worker processes under real faults: kill -9 mid-job, SIGTERM mid-job, shutdown overrunning its bound,
// payloads that bypassed validation, and CPU-heavy work longer than the job lock.
import { Job, Queue } from "bullmq";
import { resolve } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { maintenanceKind } from "../../queues/registry.ts";
import { enqueue } from "../../queues/enqueue.ts";
import { createComputePool } from "../../workers/threads/pool.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/db.ts";
import { testFleet, type TestFleet } from "../helpers/fleet.ts";
import { reap, spawnTs, type EventProcess } from "../helpers/proc.ts";
import { redisUrl } from "../helpers/redis.ts";
import { poll } from "../helpers/wait.ts";

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

const worker = (env: Record<string, string>) => {
  const p = spawnTs("test/fixtures/fixture-worker.ts", { REDIS_URL: redisUrl(), DATABASE_URL: db.url, PREFIX: tf.prefix, ...env });
  procs.push(p);
  return p;
};
const smoke = (id: string) => enqueue(tf.fleet, maintenanceKind, { task: "smoke", id, message: "reliability" });
const effect = async (jobId: string) =>
  (await db.pool.query<{ runs: number; worker_pid: number }>("SELECT runs, worker_pid FROM fleet_smoke WHERE job_id = $1", [jobId])).rows;

describe("reliability", () => {
  it("kill -9 mid-job: the job completes once, on another worker, after stall detection", async () => {
    tf = testFleet("kill");
    const fast = { LOCK_MS: "1500", STALLED_MS: "500" };
    const a = worker({ ...fast, JOB_MS: "60000" });
    await a.waitFor("ready");
    const job = await smoke("kill9");
    await a.waitFor("started", { jobId: job.id });
    a.kill("SIGKILL");
    await a.exited;
    const b = worker({ ...fast, JOB_MS: "200" });
    await b.waitFor("finished", { jobId: job.id }, 30_000);
    const rows = await effect(job.id!);
    expect(rows).toEqual([{ runs: 1, worker_pid: b.pid }]);
    const state = await poll(async () => ((await Job.fromId(tf.fleet.queue(maintenanceKind), job.id!))?.getState().then((s) => (s === "completed" ? s : undefined))), "completion");
    expect(state).toBe("completed");
  });

  it("SIGTERM during a job: the job finishes, nothing is counted as stalled, the process exits 0", async () => {
    tf = testFleet("term");
    const a = worker({ JOB_MS: "1500", LOCK_MS: "1000", STALLED_MS: "300" });
    await a.waitFor("ready");
    const job = await smoke("sigterm");
    await a.waitFor("started", { jobId: job.id });
    a.kill("SIGTERM");
    expect(await a.exited).toEqual({ code: 0, signal: null });
    expect(a.events.map((e) => e.event)).toContain("finished");
    expect(await effect(job.id!)).toEqual([{ runs: 1, worker_pid: a.pid }]);
    const done = await Job.fromId(tf.fleet.queue(maintenanceKind), job.id!);
    expect(await done?.getState()).toBe("completed");
    expect(done?.stalledCounter ?? 0).toBe(0);
    expect(a.events.filter((e) => e.event === "stalled")).toEqual([]);
  });

  it("a job outliving the shutdown bound is aborted and handed back without spending an attempt", async () => {
    tf = testFleet("bound");
    const a = worker({ JOB_MS: "60000", SHUTDOWN_MS: "300" });
    await a.waitFor("ready");
    const job = await smoke("bound");
    await a.waitFor("started", { jobId: job.id });
    a.kill("SIGTERM");
    expect((await a.exited).code).toBe(0);
    const back = await Job.fromId(tf.fleet.queue(maintenanceKind), job.id!);
    expect(await back?.getState()).toBe("waiting");
    expect(back?.attemptsMade).toBe(0);
    const b = worker({ JOB_MS: "50" });
    await b.waitFor("finished", { jobId: job.id });
    expect(await effect(job.id!)).toEqual([{ runs: 1, worker_pid: b.pid }]);
  });

  it("a payload added around validation fails as unrecoverable, naming the field, with zero retries", async () => {
    tf = testFleet("raw");
    const a = worker({});
    await a.waitFor("ready");
    const raw = new Queue(maintenanceKind.name, { connection: { url: redisUrl() }, prefix: tf.prefix });
    try {
      const job = await raw.add("smoke", { task: "smoke", id: "bad id!", message: "x" }, { attempts: 5 });
      const failed = await poll(async () => {
        const j = await Job.fromId(raw, job.id!);
        return (await j?.getState()) === "failed" ? j : undefined;
      }, "the bad job to fail");
      expect(failed.failedReason).toMatch(/^maintenance payload invalid: id: must be 1-64 letters.*\(got "bad id!"\)/);
      expect(failed.attemptsMade).toBe(1);
      expect(a.events.find((e) => e.event === "started")).toBeUndefined();
    } finally {
      await raw.close();
    }
  });

  it("CPU-heavy work in the compute pool outlives the lock and still runs exactly once", async () => {
    tf = testFleet("cpu");
    const pool = createComputePool({ taskModule: resolve(import.meta.dirname, "../fixtures/burn-task.ts"), threads: 1 });
    let runs = 0;
    const stalled: string[] = [];
    try {
      const w = await tf.worker(
        maintenanceKind,
        async (p, ctx) => {
          runs++;
          await pool.run("burn", { ms: 2_500 }, ctx.signal);
          return { task: p.task };
        },
        { lockDurationMs: 600, stalledIntervalMs: 300, concurrency: 1 },
      );
      w.worker.on("stalled", (id) => stalled.push(id));
      const job = await smoke("cpu");
      const state = await poll(async () => {
        const s = await (await Job.fromId(tf.fleet.queue(maintenanceKind), job.id!))?.getState();
        return s === "completed" || s === "failed" ? s : undefined;
      }, "the CPU-heavy job to finish", 30_000);
      expect(state).toBe("completed");
      expect(runs).toBe(1);
      expect(stalled).toEqual([]);
    } finally {
      await pool.close();
    }
  });
});
