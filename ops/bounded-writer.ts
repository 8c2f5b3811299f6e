// A bounded FIFO drained by one background writer, with retry and backoff while the sink is down and a
// count of what it had to drop. Shared by the span exporter, the metrics collector and the workflow
// recorder. Imports nothing, so the telemetry modules built on it stay leaves.
/** What the span exporter needs from a pg Pool: queries, and a client of its own to stream COPY on. */
export interface Queryable {
  query(text: string, values?: unknown[]): Promise<unknown>;
  connect(): Promise<StreamingClient>;
}

/** A pooled client: plain queries, COPY streams (pg-copy-streams), and back to the pool with release(). */
export interface StreamingClient {
  query(text: string, values?: unknown[]): Promise<unknown>;
  query<S extends { submit(connection: never): void }>(stream: S): S;
  /** An error discards the client instead of reusing it. */
  release(err?: Error | boolean): void;
}

export interface WriterStats {
  written: number;
  dropped: number;
  pending: number;
  failures: number;
  lastError?: string;
}

export interface BoundedWriterOptions<T> {
  write(batch: T[]): Promise<void>;
  maxPending: number;
  batchSize: number;
  /** A write that has not settled after this long counts as failed (and is retried). */
  timeoutMs?: number;
  retryMs?: number;
  maxRetryMs?: number;
  /** Called when writing starts failing (once per outage, not per retry). */
  onError?(err: Error): void;
  /** A batch the server rejects for its content is dropped (counted) instead of blocking the queue forever. */
  isPermanent?(err: unknown): boolean;
  /**
   * How long a write waits for more items while less than a batch is pending: fewer, fuller batches for a
   * sink whose cost is per write, not per item. flush() and close() do not wait.
   */
  lingerMs?: number;
}

/** SQLSTATE classes 22 (data exception) and 23 (integrity): retrying the same rows cannot succeed. */
export const isDataError = (err: unknown) => /^2[23]/.test(String((err as { code?: unknown })?.code ?? ""));

/** Resolves when `p` settles or `ms` pass, whichever is first; the timer never outlives the wait. */
function settledOrAfter(p: Promise<unknown> | undefined, ms: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    timer.unref();
    const done = () => {
      clearTimeout(timer);
      resolve();
    };
    p?.then(done, done);
  });
}

export class BoundedWriter<T> {
  private items: T[] = [];
  private head = 0;
  private running?: Promise<void>;
  private retryTimer?: NodeJS.Timeout;
  private lingerTimer?: NodeJS.Timeout;
  private backoff: number;
  private healthy = true;
  private closed = false;
  private readonly s = { written: 0, dropped: 0, failures: 0, lastError: undefined as string | undefined };

  constructor(private readonly opts: BoundedWriterOptions<T>) {
    this.backoff = opts.retryMs ?? 500;
  }

  get pending(): number {
    return this.items.length - this.head;
  }

  /** Queues what fits and drops (counting) the rest; returns how many were accepted. */
  push(items: T[]): number {
    const room = this.closed ? 0 : Math.max(0, this.opts.maxPending - this.pending);
    const n = Math.min(room, items.length);
    this.s.dropped += items.length - n;
    for (let i = 0; i < n; i++) this.items.push(items[i]!);
    if (n) this.kick();
    return n;
  }

  stats(): WriterStats {
    return { written: this.s.written, dropped: this.s.dropped, pending: this.pending, failures: this.s.failures, ...(this.s.lastError ? { lastError: this.s.lastError } : {}) };
  }

  /** Resolves true once everything queued is written, false when `timeoutMs` passes first. */
  async flush(timeoutMs = 5_000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    let retried = false;
    while (this.pending > 0 || this.running) {
      if (!this.running && this.lingerTimer) this.kick(true);
      // Retried already, failed, and closed: no further attempt is coming.
      if (!this.running && retried && !this.retryTimer) return false;
      if (!this.running && !retried) {
        // Waiting out a backoff: one immediate attempt, then the regular schedule.
        retried = true;
        clearTimeout(this.retryTimer);
        this.retryTimer = undefined;
        this.kick(true);
      }
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await settledOrAfter(this.running, this.running ? left : Math.min(left, 50));
    }
    return true;
  }

  /** Stops accepting, writes what it can within `timeoutMs`; what is left counts as dropped. Idempotent. */
  async close(timeoutMs = 5_000): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.flush(timeoutMs);
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    clearTimeout(this.lingerTimer);
    this.lingerTimer = undefined;
    this.s.dropped += this.pending;
    this.items = [];
    this.head = 0;
  }

  private kick(now = false): void {
    if (this.running || this.retryTimer) return;
    if (!now && this.opts.lingerMs && this.pending < this.opts.batchSize) {
      this.lingerTimer ??= setTimeout(() => {
        this.lingerTimer = undefined;
        this.kick(true);
      }, this.opts.lingerMs).unref();
      return;
    }
    clearTimeout(this.lingerTimer);
    this.lingerTimer = undefined;
    this.running = this.drain().finally(() => (this.running = undefined));
  }

  private async drain(): Promise<void> {
    while (this.pending > 0) {
      const batch = this.items.slice(this.head, this.head + this.opts.batchSize);
      try {
        await withTimeout(this.opts.write(batch), this.opts.timeoutMs ?? 10_000);
      } catch (err) {
        this.s.failures++;
        this.s.lastError = (err as Error).message;
        if (this.opts.isPermanent?.(err)) {
          this.head += batch.length;
          this.s.dropped += batch.length;
          this.opts.onError?.(err as Error);
          continue;
        }
        if (this.healthy) this.opts.onError?.(err as Error);
        this.healthy = false;
        if (this.closed) return;
        const ms = this.backoff;
        this.backoff = Math.min(this.opts.maxRetryMs ?? 10_000, ms * 2);
        this.retryTimer = setTimeout(() => {
          this.retryTimer = undefined;
          this.kick();
        }, ms).unref();
        return;
      }
      this.head += batch.length;
      this.s.written += batch.length;
      this.healthy = true;
      this.backoff = this.opts.retryMs ?? 500;
      if (this.head >= 4096 && this.head * 2 >= this.items.length) {
        this.items = this.items.slice(this.head);
        this.head = 0;
      }
    }
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`write timed out after ${ms} ms`)), ms);
      timer.unref();
    }),
  ]);
}
