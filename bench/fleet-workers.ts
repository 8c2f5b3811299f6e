// The fleet bench's worker processes and CPU clocks. Workers are bench/soak-workers.ts's (`apps/worker/main.ts`
// as the Procfile runs it) without the soak's memory probe, which forces a GC on a timer and would add CPU to
// what is measured.
// CPU seconds come from /proc/<pid>/stat (a worker with its compute threads and any child processes),
// Redis's INFO cpu and the PostgreSQL server's processes (bench/pg-cpu.ts).
import { readdirSync } from "node:fs";
import type { Pool } from "../db/pool.ts";
import type { Redis } from "../queues/connection.ts";
import { TICKS_PER_SECOND, pgCpuSampler, statFields } from "./pg-cpu.ts";
import { startWorkers, type Servers, type SoakWorker } from "./soak-workers.ts";

/** `count` worker processes on `servers`, without the soak's memory probe (its forced GCs would be measured). */
export function startFleetWorkers(count: number, servers: Servers, dir: string, label: string): Promise<SoakWorker[]> {
  // BENCH_WORKER_NODE_ARGS: extra node flags for the workers, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" to profile them.
  return startWorkers(count, servers, dir, { label, nodeArgs: (process.env.BENCH_WORKER_NODE_ARGS ?? "").split(" ").filter(Boolean) });
}

// After the command name: [1] ppid, [11] utime, [12] stime, [13] cutime, [14] cstime.
const ticks = (f: string[]) => Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);

/**
 * CPU seconds of `pids` and everything they forked (all threads: the worker's compute pool is threads),
 * including children that already exited and were reaped. One /proc scan serves every pid.
 */
export function treeCpuSeconds(pids: readonly number[]): number[] {
  const parent = new Map<number, number>();
  const own = new Map<number, number>();
  for (const entry of readdirSync("/proc")) {
    const pid = Number(entry);
    if (!pid) continue;
    const f = statFields(pid);
    if (!f) continue;
    parent.set(pid, Number(f[1]));
    own.set(pid, ticks(f));
  }
  const rootOf = (pid: number): number | undefined => {
    for (let p: number | undefined = pid, hops = 0; p && hops < 64; p = parent.get(p), hops++) if (pids.includes(p)) return p;
    return undefined;
  };
  const sums = new Map<number, number>(pids.map((p) => [p, 0]));
  for (const [pid, t] of own) {
    const root = rootOf(pid);
    if (root !== undefined) sums.set(root, sums.get(root)! + t);
  }
  return pids.map((p) => sums.get(p)! / TICKS_PER_SECOND);
}

/** Redis server CPU seconds (main process, its threads and fork children) from INFO cpu. */
export async function redisCpuSeconds(redis: Redis): Promise<number> {
  const info = await redis.info("cpu");
  const field = (k: string) => Number(new RegExp(`^${k}:([\\d.]+)`, "m").exec(info)?.[1] ?? 0);
  return field("used_cpu_sys") + field("used_cpu_user") + field("used_cpu_sys_children") + field("used_cpu_user_children");
}

export interface CpuReading {
  redis: number;
  /** The whole PostgreSQL server. */
  pg: number;
  /** Only the backends of the bench's database (see OwnBackendsCpu). */
  pgOwn: number;
  workers: number[];
  bench: number;
}

/**
 * A cumulative CPU clock over Redis, PostgreSQL (whole server, and the bench database's backends, sampled
 * every `sampleMs` in the background), the worker processes and this process. stop() ends the sampling.
 */
export async function cpuClock(redis: Redis, pool: Pool, workerPids: () => readonly number[], sampleMs = 2_000): Promise<{ read: () => Promise<CpuReading>; stop: () => void }> {
  const pg = await pgCpuSampler(pool);
  const own = new OwnBackendsCpu(pool);
  await own.sample();
  const own0 = own.seconds();
  const timer = setInterval(() => {
    own.sample().catch(() => {
      // A missed sample only makes the own-backends figure coarser; the next one catches up.
    });
  }, sampleMs).unref();
  return {
    read: async () => {
      await own.sample();
      const u = process.cpuUsage();
      return { redis: await redisCpuSeconds(redis), pg: await pg(), pgOwn: own.seconds() - own0, workers: treeCpuSeconds(workerPids()), bench: (u.user + u.system) / 1e6 };
    },
    stop: () => clearInterval(timer),
  };
}

export const cpuDelta = (a: CpuReading, b: CpuReading): CpuReading => ({
  redis: b.redis - a.redis,
  pg: b.pg - a.pg,
  pgOwn: b.pgOwn - a.pgOwn,
  workers: b.workers.map((w, i) => w - (a.workers[i] ?? 0)),
  bench: b.bench - a.bench,
});

/**
 * PostgreSQL CPU of this bench's own database: the backends connected to it (pg_stat_activity), read from
 * /proc on every sample. The whole-server figure (pgCpuSampler) also counts other databases the shared
 * server serves meanwhile and the background processes (WAL writer, checkpointer, autovacuum); this one
 * misses those and, for a backend that exits, its CPU after its last sample — sample often.
 */
export class OwnBackendsCpu {
  private readonly last = new Map<number, number>();
  constructor(private readonly pool: Pool) {}

  async sample(): Promise<void> {
    const { rows } = await this.pool.query<{ pid: number }>("SELECT pid FROM pg_stat_activity WHERE datname = current_database()");
    for (const { pid } of rows) {
      const f = statFields(pid);
      if (f) this.last.set(pid, Math.max(this.last.get(pid) ?? 0, Number(f[11]) + Number(f[12])));
    }
  }

  /** CPU seconds of every backend seen so far, each up to its latest sample. */
  seconds(): number {
    let t = 0;
    for (const v of this.last.values()) t += v;
    return t / TICKS_PER_SECOND;
  }
}
