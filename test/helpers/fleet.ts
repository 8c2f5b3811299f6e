// A fleet (producer side) and real workers on a unique prefix, closed together.
import type { JobKind } from "../../queues/kind.ts";
import { Fleet } from "../../queues/fleet.ts";
import { createWorker, type FleetWorker, type Processor, type WorkerOptions } from "../../workers/runtime.ts";
import { memoryLogger } from "./log.ts";
import { deletePrefix, redisUrl, uniquePrefix } from "./redis.ts";

export interface TestFleet {
  prefix: string;
  fleet: Fleet;
  log: ReturnType<typeof memoryLogger>;
  worker<K extends JobKind>(kind: K, processor: Processor<K>, opts?: Partial<WorkerOptions<K>>): Promise<FleetWorker<K>>;
  close(): Promise<void>;
}

export function testFleet(label = "t"): TestFleet {
  const prefix = uniquePrefix(label);
  const fleet = new Fleet({ redisUrl: redisUrl(), prefix });
  const log = memoryLogger();
  const workers: FleetWorker<JobKind>[] = [];
  return {
    prefix,
    fleet,
    log,
    async worker(kind, processor, opts = {}) {
      const w = createWorker(kind, processor, { redisUrl: redisUrl(), prefix, log: log.log, concurrency: 4, shutdownMs: 5_000, ...opts });
      workers.push(w as unknown as FleetWorker<JobKind>);
      w.start();
      await w.waitUntilReady();
      return w;
    },
    async close() {
      await Promise.allSettled(workers.map((w) => w.close()));
      await fleet.close();
      await deletePrefix(prefix);
    },
  };
}
