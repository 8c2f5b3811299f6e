// createWorker(kind, processor): the one place a BullMQ Worker is built. It validates payloads before
// running (invalid → unrecoverable, zero retries), bounds every attempt by its kind's timeout whether or
// not the processor listens to its AbortSignal, classifies errors and calls the hooks.
// A dependency outage costs a job time, not attempts; a job nobody can read fails instead of circling.
import { DelayedError, RateLimitError, UnrecoverableError, WaitingChildrenError, WaitingError, type Job, type Worker } from "bullmq";
import type { Context } from "@opentelemetry/api";
import { closeRedis, createRedis, type Redis, type RedisTarget } from "../queues/connection.ts";
import { PayloadError, parsePayload, type JobKind, type PayloadOf, type ResultOf } from "../queues/kind.ts";
import { contextFromJobData } from "../queues/trace-context.ts";
import type { Logger } from "../ops/logger.ts";
import { isOutageError, type DependencyMonitor } from "../ops/outage.ts";
import { workerName } from "../ops/health.ts";
import { ActiveAttempts, type JobAbort } from "./attempts.ts";
import { JobTimeoutError, PermanentError, WorkerShutdownError } from "./errors.ts";
import { NOOP_HOOKS, type JobHooks, type JobObservation, type JobOutcome, type SpanAttributes } from "./hooks.ts";
import { DEFAULT_OUTAGE_POLICY, planDeferral, type OutagePolicy } from "./outage-deferral.ts";
import { PoisonAwareWorker, quarantineUnreadable, unreadableEnvelope } from "./poison.ts";

export interface JobContext {
  job: Job;
  token: string;
  signal: AbortSignal;
  log: Logger;
  attempt: number;
  traceId?: string;
  /** The job's trace context: what the processor enqueues passes it on, so a flow stays one trace. */
  readonly trace: Context;
}

export type Processor<K extends JobKind> = (payload: PayloadOf<K>, ctx: JobContext) => Promise<ResultOf<K>>;

export interface WorkerOptions<K extends JobKind> {
  /** The Redis to connect to: a URL, or the configured Sentinel/Cluster topology (queues/connection.ts). */
  redisUrl: RedisTarget;
  prefix: string;
  log: Logger;
  concurrency?: number;
  hooks?: JobHooks;
  /** How long close() lets active jobs finish before aborting them and returning them to the queue. */
  shutdownMs?: number;
  lockDurationMs?: number;
  stalledIntervalMs?: number;
  /** Span/metric attributes from the payload; default: the kind's own `spanAttributes`. */
  attributes?: (payload: PayloadOf<K>) => Record<string, string | number | boolean>;
  /** Where connection errors go (one log line per outage); without it each one is logged. */
  deps?: DependencyMonitor;
  /** How long and how often a job hit by a dependency outage waits without spending an attempt. */
  outage?: OutagePolicy;
}

const CONTROL_FLOW = [DelayedError, RateLimitError, WaitingChildrenError, WaitingError] as const;
const isControlFlow = (err: unknown) => CONTROL_FLOW.some((C) => err instanceof C);

export class FleetWorker<K extends JobKind> {
  readonly worker: Worker;
  private readonly connection: Redis;
  private readonly shutdown = new AbortController();
  private readonly attempts: ActiveAttempts;
  private closing?: Promise<void>;
  private quarantining?: Promise<void>;

  constructor(
    readonly kind: K,
    processor: Processor<K>,
    private readonly opts: WorkerOptions<K>,
  ) {
    const hooks = opts.hooks ?? NOOP_HOOKS;
    const attributes = opts.attributes ?? kind.spanAttributes;
    this.connection = createRedis(opts.redisUrl, `ta-fleet:worker:${kind.name}`);
    this.connection.on("error", (err) => this.connectionError(err));
    // Past the shutdown bound every attempt still running stops, listening to its signal or not.
    this.attempts = new ActiveAttempts(kind.name, kind.timeoutMs);
    this.shutdown.signal.addEventListener("abort", () => this.attempts.stopAll(this.shutdown.signal.reason as Error), { once: true });
    // Two parameters on purpose: a third makes BullMQ build an AbortController for every job; ours is
    // built only when a processor reads ctx.signal.
    const run = async (job: Job, token: string | undefined) => {
      const attempt = job.attemptsMade + 1;
      let payload: PayloadOf<K>;
      try {
        payload = parsePayload(kind, job.data);
      } catch (err) {
        if (err instanceof PayloadError) {
          opts.log.warn({ queue: kind.name, jobId: job.id, reason: err.message }, "invalid payload; failing without retry");
          throw new UnrecoverableError(err.message);
        }
        throw err;
      }
      // The name is derived from the payload when work is enqueued; a job whose name says otherwise was
      // added by something else, and no processor branch is meant for it.
      if (job.name !== kind.jobName(payload)) {
        const reason = `unknown job name ${JSON.stringify(job.name)} for this ${kind.name} payload (expected ${JSON.stringify(kind.jobName(payload))})`;
        opts.log.warn({ queue: kind.name, jobId: job.id, reason }, "unknown job name; failing without retry");
        throw new UnrecoverableError(reason);
      }
      const obs = hooks === NOOP_HOOKS ? NOOP_OBSERVATION : observe(hooks, job, kind.name, () => ({ queue: kind.name, "job.name": job.name, "job.id": job.id ?? "", attempt, ...attributes?.(payload) }));
      const abort = this.attempts.start(attempt);
      try {
        const ctx = new RunContext(job, token ?? "", attempt, obs, abort, opts.log, kind.name);
        const result = await abort.run(() => processor(payload, ctx), ctx);
        endSafely(obs, "completed", { result });
        return result;
      } catch (err) {
        const mapped = await this.classify(err, job, token);
        const outcome = outcomeOf(mapped, job, attempt);
        endSafely(obs, outcome, { error: mapped });
        if (outcome === "failed" || outcome === "retrying") jobLogger(opts.log, kind.name, job, attempt, obs.traceId).warn({ err: (mapped as Error).message, outcome }, "job failed");
        throw mapped;
      } finally {
        this.attempts.end(abort);
      }
    };
    this.worker = new PoisonAwareWorker(
      kind.name,
      run,
      {
        connection: this.connection,
        prefix: opts.prefix,
        name: workerName("worker"),
        concurrency: opts.concurrency ?? 1,
        autorun: false,
        lockDuration: opts.lockDurationMs ?? 30_000,
        stalledInterval: opts.stalledIntervalMs ?? 30_000,
        maxStalledCount: 1,
      },
      (job, raw) => this.setAside(job, raw),
    );
    this.worker.on("error", (err) => this.workerError(err));
  }

  private connectionError(err: Error): void {
    if (this.opts.deps) this.opts.deps.report(err, `redis:${this.kind.name}`);
    else this.opts.log.warn({ err: err.message, queue: this.kind.name }, "redis connection error");
  }

  /** Unreadable data: BullMQ fails the job; its stored data becomes a readable envelope of the original. */
  private setAside(job: Job, raw: string): void {
    this.opts.log.warn({ queue: this.kind.name, jobId: job.id, reason: job.deferredFailure }, "unreadable job; failing without retry");
    this.connection.hset(`${job.queueQualifiedName}:${job.id}`, "data", unreadableEnvelope(raw)).catch((err: Error) => {
      this.opts.log.warn({ queue: this.kind.name, jobId: job.id, err: err.message }, "could not replace the unreadable data");
    });
  }

  private workerError(err: Error): void {
    if (isOutageError(err)) return this.connectionError(err);
    this.opts.log.error({ err: err.message, queue: this.kind.name }, "worker error");
    // A job handed over with options that are not JSON: BullMQ cannot build it, so we mark it to fail.
    if (err instanceof SyntaxError) {
      this.quarantining ??= quarantineUnreadable(this.connection, `${this.opts.prefix}:${this.kind.name}`)
        .then((ids) => {
          if (ids.length) this.opts.log.warn({ queue: this.kind.name, jobIds: ids }, "unreadable jobs marked to fail");
        })
        .catch((e: Error) => this.opts.log.warn({ err: e.message, queue: this.kind.name }, "marking unreadable jobs failed; the next fetch tries again"))
        .finally(() => (this.quarantining = undefined));
    }
  }

  private async classify(err: unknown, job: Job, token: string | undefined): Promise<unknown> {
    if (isControlFlow(err) || err instanceof UnrecoverableError) return err;
    if (this.shutdown.signal.aborted && token) {
      // Shutdown overran its bound: hand the job back untouched for another worker.
      await job.moveToWait(token).catch((e: Error) => {
        this.opts.log.debug({ err: e.message, jobId: job.id }, "could not hand the job back; its lock lapses and the stalled check returns it");
      });
      return new WaitingError();
    }
    // A timeout is retryable as it stands: the next attempt may meet a faster dependency or a freer core.
    if (err instanceof JobTimeoutError) return err;
    if (token && isOutageError(err)) {
      const deferred = await this.deferForOutage(err as Error, job, token);
      if (deferred) return deferred;
    }
    if (err instanceof PermanentError || err instanceof PayloadError) return new UnrecoverableError(err.message);
    return err instanceof Error ? err : new Error(String(err));
  }

  /**
   * Puts a job that met an outage back to the delayed set without spending an attempt, while the outage
   * tolerance lasts; undefined once it is spent (the error then counts like any other). When Redis is
   * unreachable too, the job is left active: its lock lapses and the stalled check returns it — time
   * again, not an attempt.
   */
  private async deferForOutage(err: Error, job: Job, token: string): Promise<DelayedError | WaitingError | undefined> {
    this.opts.deps?.report(err, `job:${this.kind.name}`);
    try {
      const plan = await planDeferral(this.connection, job, this.opts.outage ?? DEFAULT_OUTAGE_POLICY);
      if (!plan.defer) {
        jobLogger(this.opts.log, this.kind.name, job, job.attemptsMade + 1, undefined).warn({ err: err.message, waitedMs: plan.waitedMs }, "outage outlasted its tolerance; spending an attempt");
        return undefined;
      }
      await job.moveToDelayed(Date.now() + plan.delayMs, token);
      jobLogger(this.opts.log, this.kind.name, job, job.attemptsMade + 1, undefined).debug({ err: err.message, delayMs: plan.delayMs, deferrals: plan.deferrals }, "dependency unreachable; job deferred without spending an attempt");
      return new DelayedError(`deferred: ${err.message}`);
    } catch (e) {
      this.opts.log.debug({ err: (e as Error).message, jobId: job.id }, "could not defer the job; the stalled check will return it");
      return new WaitingError();
    }
  }

  start(): this {
    void this.worker.run().catch((err) => this.opts.log.error({ err: (err as Error).message }, "worker stopped"));
    return this;
  }

  async waitUntilReady(): Promise<void> {
    await this.worker.waitUntilReady();
  }

  /** Stop fetching, let active jobs finish within shutdownMs, then stop and return the rest. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      const bound = this.opts.shutdownMs ?? 30_000;
      const timer = setTimeout(() => this.shutdown.abort(new WorkerShutdownError(bound)), bound);
      timer.unref();
      try {
        await Promise.race([this.worker.close(), new Promise((r) => setTimeout(r, bound + 10_000).unref())]);
      } catch (err) {
        this.opts.log.warn({ err: (err as Error).message }, "worker close failed");
      } finally {
        clearTimeout(timer);
        await closeRedis(this.connection);
      }
    })();
    return this.closing;
  }
}

function outcomeOf(err: unknown, job: Job, attempt: number): JobOutcome {
  if (err instanceof RateLimitError) return "rate-limited";
  if (err instanceof DelayedError || err instanceof WaitingError) return "delayed";
  if (err instanceof WaitingChildrenError) return "waiting-children";
  if (err instanceof UnrecoverableError) return "failed";
  return attempt >= (job.opts.attempts ?? 1) ? "failed" : "retrying";
}

// A class, not an object literal with getters and closures: it is built for every job.
class RunContext implements JobContext {
  private logger?: Logger;
  private traceContext?: Context;

  constructor(
    readonly job: Job,
    readonly token: string,
    readonly attempt: number,
    private readonly obs: JobObservation,
    private readonly abort: JobAbort,
    private readonly baseLog: Logger,
    private readonly queue: string,
  ) {}

  // On demand: an unsampled job's trace ids are drawn only when something reads them.
  get traceId(): string | undefined {
    return this.obs.traceId;
  }

  // Explicit, not an AsyncLocalStorage context: on Node 20 that taxes every promise of the process.
  get trace(): Context {
    return (this.traceContext ??= this.obs.context ?? contextFromJobData(this.job.data));
  }

  get signal(): AbortSignal {
    return this.abort.signal();
  }

  // Built on first use: a no-op processor should not pay for a child logger.
  get log(): Logger {
    return (this.logger ??= jobLogger(this.baseLog, this.queue, this.job, this.attempt, this.traceId));
  }
}

function jobLogger(log: Logger, queue: string, job: Job, attempt: number, traceId: string | undefined): Logger {
  return log.child({ queue, jobId: job.id, attempt, ...(traceId ? { traceId } : {}) });
}

const NOOP_OBSERVATION: JobObservation = {
  end: () => {
    // No hooks: nothing observes the job.
  },
};

// Hooks must never break a job: a throwing hook costs its observation, not the job.
function observe(hooks: JobHooks, job: Job, kind: string, attrs: () => SpanAttributes): JobObservation {
  try {
    return hooks.onJobStart(job, kind, attrs);
  } catch {
    // see above: the job runs unobserved rather than not at all
    return NOOP_OBSERVATION;
  }
}

function endSafely(obs: JobObservation, outcome: JobOutcome, info: Parameters<JobObservation["end"]>[1]): void {
  try {
    obs.end(outcome, info);
  } catch {
    // see observe()
  }
}

export function createWorker<K extends JobKind>(kind: K, processor: Processor<K>, opts: WorkerOptions<K>): FleetWorker<K> {
  return new FleetWorker(kind, processor, opts);
}
