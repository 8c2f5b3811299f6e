// `--wait` against a job that finishes between two reads of it. The reads are instrumented so the job
// completes (or fails) right after the first read of it returns and before the next one starts, whichever
// order the waiting code reads in: it must still return the job's result, never a null return value.
import { Job, Queue, Worker } from "bullmq";
import { afterEach, describe, expect, it, vi } from "vitest";
import { waitForJob, waitForRun } from "../../producers/progress.ts";
import type { RunSummary } from "../../queues/kinds/flow.ts";
import { flowKind, maintenanceKind } from "../../queues/registry.ts";
import { testFleet, type TestFleet } from "../helpers/fleet.ts";
import { redisUrl } from "../helpers/redis.ts";

const opened: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.allSettled(opened.splice(0).map((o) => o.close()));
});

/** An active job of `queue` (taken by hand, as a worker would) and a way to finish it. */
async function activeJob(tf: TestFleet, queue: Queue, id: string) {
  await queue.add("race", { task: "race" }, { jobId: id, attempts: 1 });
  const worker = new Worker(queue.name, null, { connection: { url: redisUrl() }, prefix: tf.prefix });
  opened.push(worker);
  const job = (await worker.getNextJob("race-token"))!;
  expect(job.id).toBe(id);
  return job;
}

/** Runs `finish` once, right after the first read of job `id` — whichever of the read calls that is — returns. */
function finishAfterFirstRead(id: string, finish: () => Promise<unknown>) {
  let done = false;
  const after = async <T>(read: Promise<T>): Promise<T> => {
    const value = await read;
    if (!done) {
      done = true;
      await finish();
    }
    return value;
  };
  const fromId = Job.fromId.bind(Job);
  vi.spyOn(Job, "fromId").mockImplementation((q, jobId, ...rest) => (jobId === id ? after(fromId(q, jobId, ...rest)) : fromId(q, jobId, ...rest)));
  const getJobState = Queue.prototype.getJobState;
  vi.spyOn(Queue.prototype, "getJobState").mockImplementation(function (this: Queue, jobId: string) {
    return jobId === id ? after(getJobState.call(this, jobId)) : getJobState.call(this, jobId);
  });
  const getState = Job.prototype.getState;
  vi.spyOn(Job.prototype, "getState").mockImplementation(function (this: Job) {
    return this.id === id ? after(getState.call(this)) : getState.call(this);
  });
  return () => done;
}

const quiet = { write: () => true, isTTY: false } as unknown as NodeJS.WriteStream;

describe("waiting for a job that finishes between two reads", () => {
  it("waitForRun returns the run's summary (npm run demo, daily-refresh --wait)", async () => {
    const tf = testFleet("race");
    opened.push(tf);
    const queue = tf.fleet.queue(flowKind);
    const job = await activeJob(tf, queue, "run.race");
    const summary: RunSummary = { runId: "race", asOf: "2022-11-15", status: "completed", assets: [] };
    const finished = finishAfterFirstRead("run.race", () => job.moveToCompleted(summary, "race-token", false));
    await expect(waitForRun(tf.fleet, "run.race", [], { asOf: "2022-11-15" }, { timeoutMs: 10_000, intervalMs: 10, out: quiet })).resolves.toEqual(summary);
    expect(finished()).toBe(true);
  });

  it("waitForJob reports a failure with its reason (sweep, llm, smoke --wait)", async () => {
    const tf = testFleet("race");
    opened.push(tf);
    const queue = tf.fleet.queue(maintenanceKind);
    const job = await activeJob(tf, queue, "smoke.race");
    const finished = finishAfterFirstRead("smoke.race", () => job.moveToFailed(new Error("disk full"), "race-token", false));
    const r = await waitForJob(queue, "smoke.race", "smoke job", { timeoutMs: 10_000, intervalMs: 10 });
    expect(finished()).toBe(true);
    expect(r.state).toBe("failed");
    expect(r.job.failedReason).toBe("disk full");
  });

  it("stops waiting when its signal aborts, with the signal's reason", async () => {
    const tf = testFleet("race");
    opened.push(tf);
    const queue = tf.fleet.queue(maintenanceKind);
    await queue.add("race", { task: "race" }, { jobId: "never" });
    const ac = new AbortController();
    const waiting = waitForJob(queue, "never", "job never", { timeoutMs: 30_000, intervalMs: 10, signal: ac.signal });
    ac.abort(new Error("interrupted by SIGTERM"));
    await expect(waiting).rejects.toThrow("interrupted by SIGTERM");
  });
});
