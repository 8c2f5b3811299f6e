// Which failures mean "a dependency is unreachable" rather than "this work is wrong", and a per-process view
// of each dependency's state that logs once per change instead of once per retry. Imports nothing of ours
// but the logger type, so the pool, the queue connections and the runtime can all use it.
import type { Logger } from "./logger.ts";

// Node socket errors: the server is gone, restarting, or the network between us is.
const SOCKET_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "EPIPE", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "ENETDOWN", "ECONNABORTED", "EAI_AGAIN", "ENOTFOUND"]);
// PostgreSQL SQLSTATEs of an unavailable server: class 08 (connection exception), admin/crash shutdown,
// "the database system is starting up / shutting down", too many connections.
const PG_CODES = /^(08...|57P01|57P02|57P03|53300)$/;
// pg and ioredis report lost connections by message only.
const MESSAGES = [
  /^Connection terminated/, // pg: "…unexpectedly", "…due to connection timeout"
  /timeout exceeded when trying to connect/, // pg-pool
  /is not queryable/, // pg: a client whose connection already broke
  /^Connection is closed\.?$/, // ioredis
  /Reached the max retries per request limit/, // ioredis MaxRetriesPerRequestError
  /Stream isn't writeable/, // ioredis without an offline queue
];

/**
 * True when `err` (or anything in its cause chain) says a dependency is unreachable. Errors of ours that
 * mean "an external service is down" (every LLM provider failing with retryable errors) say so with
 * `outage: true`.
 */
export function isOutageError(err: unknown, depth = 0): boolean {
  if (!err || typeof err !== "object" || depth > 8) return false;
  const e = err as { code?: unknown; message?: unknown; cause?: unknown; errors?: unknown; outage?: unknown };
  if (e.outage === true) return true;
  const code = typeof e.code === "string" ? e.code : "";
  if (SOCKET_CODES.has(code) || PG_CODES.test(code)) return true;
  const message = typeof e.message === "string" ? e.message : "";
  if (MESSAGES.some((re) => re.test(message))) return true;
  if (Array.isArray(e.errors) && e.errors.some((x) => isOutageError(x, depth + 1))) return true;
  return isOutageError(e.cause, depth + 1);
}

export type Dependency = "postgres" | "redis";

const LABEL: Record<Dependency, string> = { postgres: "PostgreSQL", redis: "Redis" };

export type DependencyProbe = () => Promise<unknown>;

/**
 * One process's view of its dependencies. Clients report errors here; an outage-class error makes the
 * monitor probe every dependency, and each one found down is logged once and re-probed until it answers,
 * then logged once again as back. Many clients and many retries still make two lines per outage.
 */
export class DependencyMonitor {
  private readonly downSince = new Map<Dependency, number>();
  private checking?: Promise<void>;
  private timer?: NodeJS.Timeout;
  private closed = false;

  constructor(
    private readonly log: Pick<Logger, "warn" | "info" | "debug">,
    readonly probes: Readonly<Partial<Record<Dependency, DependencyProbe>>>,
    private readonly opts: { recheckMs?: number; probeTimeoutMs?: number } = {},
  ) {}

  /** An error from `source`: an outage triggers a check of every dependency; anything else is logged as it is. */
  report(err: unknown, source: string): void {
    if (!isOutageError(err)) {
      this.log.warn({ err: (err as Error)?.message ?? String(err), source }, `${source} failed`);
      return;
    }
    this.log.debug({ err: (err as Error).message, source }, "dependency unreachable");
    // While something is down the recheck timer probes everything anyway.
    if (this.downSince.size === 0) void this.check();
  }

  isDown(dep: Dependency): boolean {
    return this.downSince.has(dep);
  }

  /** Probes every dependency once (one check at a time); resolves when done. */
  check(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return (this.checking ??= this.probeAll().finally(() => {
      this.checking = undefined;
      this.schedule();
    }));
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
  }

  private async probeAll(): Promise<void> {
    const timeoutMs = this.opts.probeTimeoutMs ?? 3_000;
    await Promise.all(
      (Object.entries(this.probes) as Array<[Dependency, DependencyProbe]>).map(async ([dep, probe]) => {
        try {
          await withTimeout(probe(), timeoutMs);
          const since = this.downSince.get(dep);
          if (since === undefined) return;
          this.downSince.delete(dep);
          this.log.info({ dependency: dep, outageMs: Date.now() - since }, `${LABEL[dep]} reachable again`);
        } catch (err) {
          if (this.downSince.has(dep)) return;
          this.downSince.set(dep, Date.now());
          this.log.warn({ dependency: dep, err: (err as Error).message }, `${LABEL[dep]} unreachable; jobs wait for it without spending attempts`);
        }
      }),
    );
  }

  // While anything is down, look again until it answers.
  private schedule(): void {
    clearTimeout(this.timer);
    if (this.closed || this.downSince.size === 0) return;
    this.timer = setTimeout(() => void this.check(), this.opts.recheckMs ?? 1_000);
    this.timer.unref();
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
      timer.unref();
    }),
  ]);
}
