// createWorker(kind, processor): the one place a BullMQ Worker is built. It validates payloads before
// running (invalid → unrecoverable, zero retries), hands the processor an AbortSignal (shutdown,
// cancellation, per-kind timeout), reserves fleet-wide quota, classifies errors and calls the hooks.
import { DelayedError, RateLimitError, UnrecoverableError, WaitingChildrenError, WaitingError, Worker, type Job } from "bullmq";
import { context } from "@opentelemetry/api";
import { closeRedis, createRedis, type Redis } from "../queues/connection.ts";
import { PayloadError, parsePayload, type JobKind, type PayloadOf, type ResultOf } from "../queues/kind.ts";
import type { Lease, QuotaStore } from "../queues/quota.ts";
import { contextFromJobData } from "../queues/trace-context.ts";
import type { Logger } from "../ops/logger.ts";
import { AbortedError, PermanentError } from "./errors.ts";
import { NOOP_HOOKS, type JobHooks, type JobOutcome } from "./hooks.ts";

export interface JobContext {
  job: Job;
  token: string;
  signal: AbortSignal;
  log: Logger;
  attempt: number;
  traceId?: string;
  /** The fleet-wide reservation this job runs under, when its kind needs a resource. */
  lease?: Lease;
  /** Actual usage of the reserved resource (settled after the processor returns). */
  reportUsage(tokens: number): void;
}

export type Processor<K extends JobKind> = (payload: PayloadOf<K>, ctx: JobContext) => Promise<ResultOf<K>>;

export interface WorkerOptions<K extends JobKind> {
  redisUrl: string;
  prefix: string;
  log: Logger;
  concurrency?: number;
  hooks?: JobHooks;
  /** How long close() lets active jobs finish before aborting them and returning them to the queue. */
  shutdownMs?: number;
  lockDurationMs?: number;
  stalledIntervalMs?: number;
  /** Fleet-wide resource the job needs; reserved before it runs. */
  quota?: { store: QuotaStore; resource: (payload: PayloadOf<K>) => { key: string; tokens?: number } | undefined };
  /** Extra span/metric attributes from the payload (asset, stage, provider, ...). */
  attributes?: (payload: PayloadOf<K>) => Record<string, string | number | boolean>;
}

const CONTROL_FLOW = [DelayedError, RateLimitError, WaitingChildrenError, WaitingError] as const;
const isControlFlow = (err: unknown) => CONTROL_FLOW.some((C) => err instanceof C);

export class FleetWorker<K extends JobKind> {
  readonly worker: Worker;
  private readonly connection: Redis;
  private readonly shutdown = new AbortController();
  private closing?: Promise<void>;

  constructor(
    readonly kind: K,
    processor: Processor<K>,
    private readonly opts: WorkerOptions<K>,
  ) {
    const hooks = opts.hooks ?? NOOP_HOOKS;
    this.connection = createRedis(opts.redisUrl, `ta-fleet:worker:${kind.name}`);
    this.connection.on("error", (err) => opts.log.warn({ err: err.message, queue: kind.name }, "redis connection error"));
    const run = async (job: Job, token: string | undefined, cancel: AbortSignal | undefined) => {
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
      const attrs = { queue: kind.name, "job.name": job.name, "job.id": job.id ?? "", attempt, ...opts.attributes?.(payload) };
      const obs = safe(() => hooks.onJobStart(job, kind.name, attrs), { end: () => {} });
      // Built on first use: a no-op processor should not pay for a child logger or a timer.
      let log: Logger | undefined;
      const getLog = () => (log ??= opts.log.child({ queue: kind.name, jobId: job.id, attempt, ...(obs.traceId ? { traceId: obs.traceId } : {}) }));
      const abort = lazyAbort(this.shutdown.signal, cancel, kind.timeoutMs);
      let lease: Lease | undefined;
      let usedTokens: number | undefined;
      let outcome: JobOutcome = "completed";
      try {
        const need = opts.quota?.resource(payload);
        if (need && opts.quota) {
          const r = await opts.quota.store.reserve(need.key, need.tokens ?? 0);
          if (!r.ok) {
            // The queue, not the job, waits: the job goes back without spending an attempt.
            await this.worker.rateLimit(r.retryAfterMs);
            throw new RateLimitError();
          }
          lease = r.lease;
        }
        const ctx: JobContext = {
          job,
          token: token ?? "",
          get signal() {
            return abort.signal();
          },
          get log() {
            return getLog();
          },
          attempt,
          traceId: obs.traceId,
          ...(lease ? { lease } : {}),
          reportUsage: (t) => (usedTokens = t),
        };
        const result = await context.with(obs.context ?? contextFromJobData(job.data), () => processor(payload, ctx));
        if (lease) await opts.quota!.store.settle(lease, usedTokens ?? lease.tokens);
        lease = undefined;
        safe(() => obs.end("completed", { result }), undefined);
        return result;
      } catch (err) {
        if (lease) await opts.quota!.store.release(lease).catch(() => {});
        const mapped = await this.classify(err, job, token, cancel, attempt);
        outcome = outcomeOf(mapped, job, attempt);
        safe(() => obs.end(outcome, { error: mapped }), undefined);
        if (outcome === "failed" || outcome === "retrying") getLog().warn({ err: (mapped as Error).message, outcome }, "job failed");
        throw mapped;
      } finally {
        abort.dispose();
      }
    };
    this.worker = new Worker(kind.name, run, {
      connection: this.connection,
      prefix: opts.prefix,
      concurrency: opts.concurrency ?? 1,
      autorun: false,
      lockDuration: opts.lockDurationMs ?? 30_000,
      stalledInterval: opts.stalledIntervalMs ?? 30_000,
      maxStalledCount: 1,
    });
    this.worker.on("error", (err) => opts.log.error({ err: err.message, queue: kind.name }, "worker error"));
  }

  private async classify(err: unknown, job: Job, token: string | undefined, cancel: AbortSignal | undefined, attempt: number): Promise<unknown> {
    if (isControlFlow(err) || err instanceof UnrecoverableError) return err;
    if (this.shutdown.signal.aborted && token) {
      // Shutdown overran its bound: hand the job back untouched for another worker.
      await job.moveToWait(token).catch(() => {});
      return new WaitingError();
    }
    if (cancel?.aborted) return new UnrecoverableError(`cancelled: ${String(cancel.reason ?? "by operator")}`);
    if (err instanceof PermanentError || err instanceof PayloadError) return new UnrecoverableError(err.message);
    if (err instanceof AbortedError || (err as Error)?.name === "TimeoutError") {
      return new Error(`timed out after ${this.kind.timeoutMs} ms (attempt ${attempt})`, { cause: err });
    }
    return err instanceof Error ? err : new Error(String(err));
  }

  start(): this {
    void this.worker.run().catch((err) => this.opts.log.error({ err: (err as Error).message }, "worker stopped"));
    return this;
  }

  waitUntilReady(): Promise<void> {
    return this.worker.waitUntilReady().then(() => {});
  }

  /** Stop fetching, let active jobs finish within shutdownMs, then abort and return the rest. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      const bound = this.opts.shutdownMs ?? 30_000;
      const timer = setTimeout(() => this.shutdown.abort(new Error("worker shutting down")), bound);
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

/** One AbortController per job, created on first access, fired by shutdown, cancellation or the timeout. */
function lazyAbort(shutdown: AbortSignal, cancel: AbortSignal | undefined, timeoutMs: number) {
  let ac: AbortController | undefined;
  let timer: NodeJS.Timeout | undefined;
  const onAbort = (e: Event) => ac!.abort((e.target as AbortSignal).reason);
  return {
    signal(): AbortSignal {
      if (ac) return ac.signal;
      ac = new AbortController();
      const fired = [shutdown, cancel].find((s) => s?.aborted);
      if (fired) ac.abort(fired.reason);
      shutdown.addEventListener("abort", onAbort, { once: true });
      cancel?.addEventListener("abort", onAbort, { once: true });
      timer = setTimeout(() => ac!.abort(new AbortedError(`timed out after ${timeoutMs} ms`)), timeoutMs);
      timer.unref();
      return ac.signal;
    },
    dispose() {
      if (!ac) return;
      clearTimeout(timer);
      shutdown.removeEventListener("abort", onAbort);
      cancel?.removeEventListener("abort", onAbort);
    },
  };
}

function safe<T>(fn: () => T, fallback: T): T {
  try {
    return fn();
  } catch {
    return fallback;
  }
}

export function createWorker<K extends JobKind>(kind: K, processor: Processor<K>, opts: WorkerOptions<K>): FleetWorker<K> {
  return new FleetWorker(kind, processor, opts);
}
