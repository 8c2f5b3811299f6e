// A kind's timeoutMs holds whether or not the processor listens to its AbortSignal: the attempt fails with
// JobTimeoutError and the kind's attempts and backoff apply; a processor that settles afterwards changes
// nothing; CPU work handed to the compute pool with the job's signal is stopped, not left burning a core.
import { Job } from "bullmq";
import { resolve } from "node:path";
import { z } from "zod";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { enqueue } from "../../queues/enqueue.ts";
import { defineKind } from "../../queues/kind.ts";
import { JobTimeoutError } from "../../workers/errors.ts";
import { createComputePool, type ComputePool } from "../../workers/threads/pool.ts";
import { testFleet, type TestFleet } from "../helpers/fleet.ts";
import { deferred, poll, within, type Deferred } from "../helpers/wait.ts";

// Test kinds: production timeouts are minutes; these are short so an attempt can outlive them quickly.
const kindWith = <N extends string>(name: N, timeoutMs: number, attempts: number) =>
  defineKind({
    name,
    schema: z.object({ id: z.string() }).strict(),
    jobName: () => "work",
    jobId: (p) => `work.${p.id}`,
    jobOptions: { attempts, backoff: { type: "fixed", delay: 50 }, removeOnComplete: false, removeOnFail: false },
    timeoutMs,
    tracing: { slowMs: timeoutMs },
  });

let tf: TestFleet | undefined;
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);
beforeAll(() => {
  process.on("unhandledRejection", onUnhandled);
});
afterAll(() => {
  process.off("unhandledRejection", onUnhandled);
});
afterEach(async () => {
  await tf?.close();
  tf = undefined;
});

async function settledJob(t: TestFleet, kind: ReturnType<typeof kindWith>, id: string, timeoutMs = 20_000): Promise<Job> {
  const queue = t.fleet.queue(kind);
  // State first, then the job: read the other way round, the job could be the active one that then finished.
  await poll(async () => ["failed", "completed"].includes(await queue.getJobState(id)), `job ${id} to settle`, timeoutMs);
  return (await Job.fromId(queue, id))!;
}

describe("per-kind timeouts", () => {
  it("a processor that ignores its signal fails with the timeout on every attempt, and its late outcome is ignored", async () => {
    tf = testFleet("timeout");
    const kind = kindWith("timeout-ignores-signal", 300, 3);
    // Each attempt waits for the test to settle it: long after its timeout, so the outcome comes late.
    const attempts: Deferred<{ id: string }>[] = [];
    const failures: Array<{ attempt: number; err: Error }> = [];
    const w = await tf.worker(kind, (p) => {
      const d = deferred<{ id: string }>();
      attempts.push(d);
      return d.promise;
    });
    w.worker.on("failed", (job, err) => failures.push({ attempt: job?.attemptsMade ?? -1, err }));
    const job = await enqueue(tf.fleet, kind, { id: "a" });

    const done = await settledJob(tf, kind, job.id!);
    expect(await done.getState()).toBe("failed");
    expect(done.attemptsMade).toBe(3);
    expect(done.failedReason).toBe("timeout-ignores-signal job timed out after 300 ms (attempt 3)");
    expect(attempts).toHaveLength(3);
    // Every attempt failed on the timeout itself, named, retryable, each after its own bound.
    expect(failures.map((f) => [f.attempt, f.err.constructor, f.err.message])).toEqual([1, 2, 3].map((n) => [n, JobTimeoutError, `timeout-ignores-signal job timed out after 300 ms (attempt ${n})`]));
    expect(done.finishedOn! - done.processedOn!).toBeGreaterThanOrEqual(300);

    // The abandoned processors settle now: a rejection and two results, none of which may count.
    attempts[0]!.reject(new Error("late failure"));
    attempts[1]!.resolve({ id: "late" });
    attempts[2]!.resolve({ id: "late" });
    const late = await poll(() => {
      const ls = tf!.log.records().filter((r) => r.msg === "processor settled after its attempt was stopped; outcome ignored");
      return ls.length === 3 ? ls : undefined;
    }, "the three late outcomes to be logged");
    expect(late.map((r) => [r.level, r.attempt, r.late, r.err, r.stoppedBy])).toEqual([
      [20, 1, "failed", "late failure", "timeout-ignores-signal job timed out after 300 ms (attempt 1)"],
      [20, 2, "completed", undefined, "timeout-ignores-signal job timed out after 300 ms (attempt 2)"],
      [20, 3, "completed", undefined, "timeout-ignores-signal job timed out after 300 ms (attempt 3)"],
    ]);
    const after = (await Job.fromId(tf.fleet.queue(kind), job.id!))!;
    expect([await after.getState(), after.attemptsMade, after.failedReason, after.returnvalue]).toEqual(["failed", 3, done.failedReason, null]);
    expect(unhandled).toEqual([]);
  });

  it("a job that finishes within its timeout completes on its first attempt", async () => {
    tf = testFleet("timeout");
    const kind = kindWith("timeout-in-time", 5_000, 3);
    await tf.worker(kind, async (p) => ({ id: p.id }));
    const job = await enqueue(tf.fleet, kind, { id: "b" });
    const done = await settledJob(tf, kind, job.id!);
    expect([await done.getState(), done.attemptsMade, done.returnvalue]).toEqual(["completed", 1, { id: "b" }]);
  });
});

describe("timeouts of compute-pool work", () => {
  let pool: ComputePool | undefined;
  afterEach(async () => {
    await pool?.close();
    pool = undefined;
  });

  it("the thread of a timed-out job is stopped although the processor never checks its signal", async () => {
    tf = testFleet("timeout-cpu");
    // One thread: work queued behind the burn can only run once that thread is gone.
    pool = createComputePool({ taskModule: resolve(import.meta.dirname, "../fixtures/burn-task.ts"), threads: 1 });
    const compute = pool;
    // A started thread, so the burn is running (not queued) when the timeout fires.
    await compute.run("burn", { ms: 1 });
    const beats = new Int32Array(new SharedArrayBuffer(4));
    const kind = kindWith("timeout-burn", 1_000, 1);
    const burned = deferred<unknown>();
    await tf.worker(kind, async (p, ctx) => {
      // As the stage and backtest processors do: hand the signal over, then only await the result.
      const run = compute.run<object, number>("burn", { ms: 60_000, beats }, ctx.signal);
      run.then(burned.resolve, burned.resolve);
      await run;
      return { id: p.id };
    });
    const job = await enqueue(tf.fleet, kind, { id: "c" });

    const done = await settledJob(tf, kind, job.id!);
    expect([await done.getState(), done.attemptsMade, done.failedReason]).toEqual(["failed", 1, "timeout-burn job timed out after 1000 ms (attempt 1)"]);
    expect(Atomics.load(beats, 0)).toBeGreaterThan(0);
    // The pool gave up the task because of the timeout, long before its 60 s were up.
    const outcome = (await within(burned.promise, 5_000, "the burn task to settle")) as Error;
    expect(outcome.name).toBe("AbortError");
    expect(outcome.cause).toBeInstanceOf(JobTimeoutError);
    expect((outcome.cause as Error).message).toBe(done.failedReason);
    // The only thread is free again, and the burning loop is gone: its counter no longer moves while
    // another task starts a thread and runs in it.
    expect(await within(compute.run("burn", { ms: 1 }), 10_000, "a task after the timeout")).toEqual(expect.any(Number));
    const stopped = Atomics.load(beats, 0);
    await within(compute.run("burn", { ms: 200 }), 10_000, "a second task after the timeout");
    expect(Atomics.load(beats, 0)).toBe(stopped);
    expect(unhandled).toEqual([]);
  });
});
