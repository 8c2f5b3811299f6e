// A worker's attempts share one timer (workers/attempts.ts): each still times out at its own deadline, in
// start order, whether or not its processor listens; shutdown stops the running ones and any started later.
import { performance } from "node:perf_hooks";
import { describe, expect, it } from "vitest";
import { ActiveAttempts } from "../../workers/attempts.ts";
import { JobTimeoutError, WorkerShutdownError } from "../../workers/errors.ts";
import { createLogger } from "../../ops/logger.ts";
import { deferred, within } from "../helpers/wait.ts";

const ctx = { log: createLogger({ service: "test", level: "silent", pretty: false }) };
const never = () => new Promise<never>(() => {});

/** When (performance.now()) the attempt's run settled, and how. */
async function settle(run: Promise<unknown>): Promise<{ at: number; err?: Error }> {
  try {
    await run;
    return { at: performance.now() };
  } catch (err) {
    return { at: performance.now(), err: err as Error };
  }
}

describe("ActiveAttempts", () => {
  it("times each attempt out at its own deadline, in start order, processor listening or not", async () => {
    const attempts = new ActiveAttempts("k", 150);
    const first = attempts.start(1);
    const firstRun = settle(first.run(never, ctx));
    const signal = first.signal();
    // The second starts later: it must outlive the first's expiry and time out at its own deadline.
    const later = deferred();
    setTimeout(later.resolve, 60);
    await later.promise;
    const second = attempts.start(2);
    const secondRun = settle(second.run(never, ctx));
    const done = attempts.start(3);
    await done.run(async () => "ok", ctx);
    attempts.end(done);

    const [a, b] = await within(Promise.all([firstRun, secondRun]), 5_000, "both attempts to time out");
    expect([a.err, b.err]).toEqual([new JobTimeoutError("k", 150, 1), new JobTimeoutError("k", 150, 2)]);
    expect(a.err).toBeInstanceOf(JobTimeoutError);
    expect(a.at).toBeGreaterThanOrEqual(first.deadline);
    expect(b.at).toBeGreaterThanOrEqual(second.deadline);
    expect(second.deadline - first.deadline).toBeGreaterThanOrEqual(55);
    expect([signal.aborted, signal.reason]).toEqual([true, a.err]);
  });

  it("an attempt that settles in time keeps its outcome, and its bound no longer fires", async () => {
    const attempts = new ActiveAttempts("k", 80);
    const a = attempts.start(1);
    await expect(a.run(async () => 42, ctx)).resolves.toBe(42);
    attempts.end(a);
    const signal = a.signal();
    const b = attempts.start(2);
    await expect(settle(b.run(never, ctx))).resolves.toMatchObject({ err: new JobTimeoutError("k", 80, 2) });
    expect(signal.aborted).toBe(false);
  });

  it("shutdown stops every running attempt and every one started after it", async () => {
    const attempts = new ActiveAttempts("k", 60_000);
    const running = attempts.start(1);
    const run = settle(running.run(never, ctx));
    const reason = new WorkerShutdownError(10);
    attempts.stopAll(reason);
    expect((await run).err).toBe(reason);
    const late = attempts.start(1);
    expect(late.signal().reason).toBe(reason);
    await expect(late.run(async () => 1, ctx)).rejects.toBe(reason);
  });
});
