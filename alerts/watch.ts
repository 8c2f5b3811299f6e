// Queue events as they happen: reads the per-queue event streams BullMQ's QueueEvents reads (one blocking
// connection for all queues) and turns a final job failure, a stalled job or a finished flow run into an
// event-rule row. The position in each stream is kept in Redis and advanced only after an event was
// handled, so events during a watcher restart or a database outage are handled late, not lost.
import type { Queue } from "bullmq";
import { closeRedis, createRedis, type Redis, type RedisTarget } from "../queues/connection.ts";
import type { Fleet } from "../queues/fleet.ts";
import { flowKind } from "../queues/registry.ts";
import type { Logger } from "../ops/logger.ts";
import type { EventRows, FlowRunRow } from "./types.ts";

export type EventSink = <E extends keyof EventRows>(rule: E, row: EventRows[E]) => Promise<unknown>;

export interface WatcherOptions {
  fleet: Fleet;
  /** The Redis to connect to: a URL, or the configured Sentinel/Cluster topology (queues/connection.ts). */
  redisUrl: RedisTarget;
  log: Logger;
  onEvent: EventSink;
  blockMs?: number;
  /** Where a failed read or event goes (the dependency monitor: one line per outage); default: the log. */
  report?: (err: unknown, what: string) => void;
}

type Fields = Record<string, string>;

export class EventWatcher {
  private readonly conn: Redis;
  private closed = false;
  private running?: Promise<void>;
  private readyResolve!: () => void;
  /** Resolves once the stream positions are known: events from then on will be seen. */
  readonly ready = new Promise<void>((r) => (this.readyResolve = r));

  constructor(private readonly opts: WatcherOptions) {
    this.conn = createRedis(opts.redisUrl, "ta-fleet:alerts-watcher");
    // The failed command reports the same outage (once, through report()); the event adds nothing.
    this.conn.on("error", (err) => this.opts.log.debug({ err: err.message }, "alerts watcher connection error"));
  }

  private get cursorKey() {
    return `${this.opts.fleet.prefix}:alerts:event-cursor`;
  }

  start(): this {
    this.running ??= this.loop().catch((err) => {
      if (!this.closed) this.opts.log.error({ err: (err as Error).message }, "alert event watcher stopped");
    });
    return this;
  }

  private async loop(): Promise<void> {
    const queues = this.opts.fleet.allQueues();
    const streams = queues.map((q) => q.keys.events!);
    const ids = await this.positions(queues, streams);
    this.readyResolve();
    while (!this.closed) {
      let batch: Array<[string, Array<[string, string[]]>]> | null;
      try {
        batch = (await this.conn.xread("COUNT", 200, "BLOCK", this.opts.blockMs ?? 5_000, "STREAMS", ...streams, ...ids)) as typeof batch;
      } catch (err) {
        if (this.closed) return;
        this.failed(err, "reading queue events");
        await pause(1_000);
        continue;
      }
      for (const [stream, entries] of batch ?? []) {
        const i = streams.indexOf(stream);
        try {
          for (const [id, flat] of entries) {
            await this.handle(queues[i]!, toFields(flat));
            ids[i] = id;
          }
        } catch (err) {
          this.failed(err, `handling a ${queues[i]!.name} queue event`);
          await pause(1_000);
        } finally {
          // A lost position only means this event is handled again after a restart; alerts are keyed, so
          // a repeat is absorbed.
          await this.conn.hset(this.cursorKey, queues[i]!.name, ids[i]!).catch((err: Error) => this.opts.log.debug({ err: err.message }, "saving the event position failed"));
        }
      }
    }
  }

  private failed(err: unknown, what: string): void {
    if (this.opts.report) this.opts.report(err, what);
    else this.opts.log.warn({ err: (err as Error).message }, `${what} failed; retrying`);
  }

  /** Saved positions; a queue seen for the first time starts at its newest event. */
  private async positions(queues: Queue[], streams: string[]): Promise<string[]> {
    const saved = await this.conn.hmget(this.cursorKey, ...queues.map((q) => q.name));
    return Promise.all(
      saved.map(async (id, i) => {
        if (id) return id;
        const [last] = await this.conn.xrevrange(streams[i]!, "+", "-", "COUNT", 1);
        const start = last?.[0] ?? "0-0";
        await this.conn.hset(this.cursorKey, queues[i]!.name, start);
        return start;
      }),
    );
  }

  private async handle(queue: Queue, ev: Fields): Promise<void> {
    const { onEvent } = this.opts;
    if (ev.event === "failed" && ev.jobId) {
      const job = await queue.getJob(ev.jobId);
      // A parent failed because a child did (failParentOnFailure): the child's own failure already alerted.
      if (job && /^child \S+ failed$/.test(ev.failedReason ?? "") && ((await job.getDependenciesCount({ failed: true })).failed ?? 0) > 0) return;
      await onEvent("job-failed", {
        queue: queue.name,
        jobId: ev.jobId,
        name: job?.name ?? "unknown",
        attemptsMade: job?.attemptsMade ?? 0,
        attempts: job?.opts.attempts ?? 1,
        reason: ev.failedReason ?? job?.failedReason ?? "",
        ...(job?.finishedOn ? { finishedOn: job.finishedOn } : {}),
      });
    } else if (ev.event === "stalled" && ev.jobId) {
      const job = await queue.getJob(ev.jobId);
      await onEvent("job-stalled", { queue: queue.name, jobId: ev.jobId, name: job?.name ?? "unknown" });
    } else if (ev.event === "completed" && queue.name === flowKind.name) {
      const run = runSummary(ev.returnvalue);
      if (run) await onEvent("flow-run", run);
    }
  }

  /** Stops reading; an event being handled finishes first. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return this.running;
    this.closed = true;
    this.readyResolve();
    // Interrupts the blocking XREAD.
    this.conn.disconnect();
    await this.running;
    await closeRedis(this.conn);
  }
}

function toFields(flat: string[]): Fields {
  const out: Fields = {};
  for (let i = 0; i + 1 < flat.length; i += 2) out[flat[i]!] = flat[i + 1]!;
  return out;
}

/** A flow run root's result (queues/kinds/flow.ts RunSummary); other flow nodes return other shapes. */
function runSummary(json: string | undefined): FlowRunRow | undefined {
  if (!json) return undefined;
  try {
    const v = JSON.parse(json) as Partial<FlowRunRow>;
    const ok = typeof v.runId === "string" && typeof v.asOf === "string" && Array.isArray(v.assets) && ["completed", "partial", "failed"].includes(v.status as string);
    return ok ? (v as FlowRunRow) : undefined;
  } catch {
    // Not a run summary (another node's result, or none): no flow-run event to raise.
    return undefined;
  }
}

function pause(ms: number) {
  return new Promise<void>((r) => setTimeout(r, ms).unref());
}
