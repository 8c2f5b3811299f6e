// The producer-side handle on the fleet: one Redis connection, one Queue per kind (created on first use)
// and a FlowProducer, all sharing the configured key prefix. close() is idempotent and bounded.
import { FlowProducer, Queue } from "bullmq";
import { closeRedis, createRedis, type Redis, type RedisTarget } from "./connection.ts";
import type { JobKind } from "./kind.ts";
import { KINDS, type KindName } from "./registry.ts";

export interface FleetOptions {
  /** The Redis to connect to: a URL, or the configured Sentinel/Cluster topology (queues/connection.ts). */
  redisUrl: RedisTarget;
  prefix: string;
  /** Name shown in `CLIENT LIST`. */
  name?: string;
  /** Connection errors (ioredis reconnects by itself); unset: ignored, as a short-lived CLI wants. */
  onError?: (err: Error) => void;
}

export class Fleet {
  readonly redis: Redis;
  readonly prefix: string;
  private readonly queues = new Map<string, Queue>();
  private flows?: FlowProducer;
  private closing?: Promise<void>;

  constructor(readonly opts: FleetOptions) {
    this.prefix = opts.prefix;
    this.redis = createRedis(opts.redisUrl, opts.name ?? "ta-fleet:producer");
    // ioredis reconnects by itself; without a listener an outage would surface as an unhandled 'error'.
    this.redis.on("error", (err) => opts.onError?.(err));
  }

  queue<K extends JobKind>(kind: K): Queue {
    let q = this.queues.get(kind.name);
    if (!q) {
      q = new Queue(kind.name, { connection: this.redis, prefix: this.prefix, defaultJobOptions: kind.jobOptions });
      q.on("error", () => {
        // The queue re-emits errors of the shared connection, which reach opts.onError through its own listener.
      });
      this.queues.set(kind.name, q);
    }
    return q;
  }

  queueByName(name: KindName): Queue {
    return this.queue(KINDS[name]);
  }

  /** Every fleet queue (for depth metrics, bull-board and chat-ops). */
  allQueues(): Queue[] {
    return Object.values(KINDS).map((k) => this.queue(k));
  }

  flowProducer(): FlowProducer {
    if (!this.flows) {
      this.flows = new FlowProducer({ connection: this.redis, prefix: this.prefix });
      this.flows.on("error", () => {
        // As for queues: the shared connection's listener reports these.
      });
    }
    return this.flows;
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      const all = [...this.queues.values(), ...(this.flows ? [this.flows] : [])];
      await Promise.allSettled(all.map((q) => withTimeout(q.close(), 2_000)));
      await closeRedis(this.redis);
    })();
    return this.closing;
  }
}

export function withTimeout<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  return Promise.race([p, new Promise<undefined>((r) => setTimeout(() => r(undefined), ms).unref())]);
}
