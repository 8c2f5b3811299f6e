// The attempts one worker is running, each bounded by its kind's timeout and by the worker's shutdown.
// When a bound passes, the attempt rejects at once — a processor that never looks at its signal cannot hold
// the job — and the signal, if the processor asked for one, aborts with the same error so cooperative work
// (HTTP calls, compute threads) stops too.
// One timer per worker, not one per attempt: a worker's attempts share their kind's timeout, so they expire
// in the order they started and the timer only ever waits for the oldest. A per-attempt timer cost every
// no-op job a Timeout object, its unref() and its clearTimeout().
// The module's, not the global: on Node 20 the global `performance` is a lazy getter run on every access.
import { performance } from "node:perf_hooks";
import type { Logger } from "../ops/logger.ts";
import { JobTimeoutError } from "./errors.ts";

/**
 * One attempt's bound. The AbortController is built on first access: a job that never reads ctx.signal
 * does without one.
 */
export class JobAbort {
  private ac?: AbortController;
  private reject?: (err: Error) => void;
  /** Why the attempt was stopped; from then on the processor's outcome is ignored. */
  private stopped?: Error;

  constructor(
    private readonly kind: string,
    private readonly timeoutMs: number,
    private readonly attempt: number,
    /** performance.now() past which the attempt times out. */
    readonly deadline: number,
  ) {}

  signal(): AbortSignal {
    if (this.ac) return this.ac.signal;
    this.ac = new AbortController();
    if (this.stopped) this.ac.abort(this.stopped);
    return this.ac.signal;
  }

  /** Settles like `work`, unless the attempt is stopped first; a later outcome of `work` is logged, not used. */
  run<T>(work: () => Promise<T>, ctx: { readonly log: Logger }): Promise<T> {
    if (this.stopped) return Promise.reject(this.stopped);
    return new Promise<T>((resolve, reject) => {
      this.reject = reject;
      work().then(
        (value) => (this.stopped ? late(ctx, this.stopped, "completed") : resolve(value)),
        (err: unknown) => (this.stopped ? late(ctx, this.stopped, "failed", err) : reject(err as Error)),
      );
    });
  }

  stop(reason: Error): void {
    if (this.stopped) return;
    this.stopped = reason;
    this.reject?.(reason);
    this.ac?.abort(reason);
  }

  timedOut(): JobTimeoutError {
    return new JobTimeoutError(this.kind, this.timeoutMs, this.attempt);
  }
}

function late(ctx: { readonly log: Logger }, stoppedBy: Error, outcome: "completed" | "failed", err?: unknown): void {
  ctx.log.debug({ stoppedBy: stoppedBy.message, late: outcome, ...(err ? { err: (err as Error)?.message ?? String(err) } : {}) }, "processor settled after its attempt was stopped; outcome ignored");
}

export class ActiveAttempts {
  // Insertion order is start order, hence deadline order (one timeout for all).
  private readonly attempts = new Set<JobAbort>();
  private timer?: NodeJS.Timeout;
  private stoppedBy?: Error;

  constructor(
    private readonly kind: string,
    private readonly timeoutMs: number,
  ) {}

  /** A new attempt, bounded from now; already stopped when the worker's shutdown overran. */
  start(attempt: number): JobAbort {
    const a = new JobAbort(this.kind, this.timeoutMs, attempt, performance.now() + this.timeoutMs);
    if (this.stoppedBy) {
      a.stop(this.stoppedBy);
      return a;
    }
    this.attempts.add(a);
    if (!this.timer) this.arm(a.deadline);
    return a;
  }

  /** The attempt settled: it no longer needs its bound, and an idle worker keeps no timer. */
  end(a: JobAbort): void {
    this.attempts.delete(a);
    if (this.attempts.size === 0) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
  }

  /** Shutdown overran its bound: every running attempt, and any started later, stops with `reason`. */
  stopAll(reason: Error): void {
    this.stoppedBy = reason;
    clearTimeout(this.timer);
    this.timer = undefined;
    for (const a of this.attempts) a.stop(reason);
    this.attempts.clear();
  }

  private arm(deadline: number): void {
    this.timer = setTimeout(() => this.expire(), Math.max(1, Math.ceil(deadline - performance.now())));
    this.timer.unref();
  }

  private expire(): void {
    this.timer = undefined;
    const now = performance.now();
    for (const a of this.attempts) {
      if (a.deadline > now) return this.arm(a.deadline);
      this.attempts.delete(a);
      a.stop(a.timedOut());
    }
  }
}
