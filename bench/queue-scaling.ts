// bench:queue's scaling run: the same smoke workload (one fleet_smoke row per job, the fleet's own no-op)
// through 1, 2 and 4 real worker processes (`apps/worker/main.ts`, as the Procfile runs it) on one queue, in
// one run. Each step starts its workers, waits for their readiness, then enqueues and drains its jobs; it
// reports jobs/s and the CPU each job cost Redis (INFO cpu: enqueue + fetch + finish), PostgreSQL (the whole
// server, bench/pg-cpu.ts) and the worker processes with their threads (bench/fleet-workers.ts).
import { mkdirSync } from "node:fs";
import { setTimeout as pause } from "node:timers/promises";
import { flowNode } from "../queues/enqueue.ts";
import { Fleet } from "../queues/fleet.ts";
import { maintenanceKind } from "../queues/registry.ts";
import type { BenchEnv } from "./env.ts";
import { redisCpuSeconds, treeCpuSeconds } from "./fleet-workers.ts";
import { pgCpuSampler } from "./pg-cpu.ts";
import { smokeRows } from "./soak-report.ts";
import { exitedWorker, killWorkers, startWorkers, stopWorkers, waitReady, type SoakWorker } from "./soak-workers.ts";

export interface ScalingStep {
  workers: number;
  jobs_per_s: number;
  redis_cpu_us_per_job: number;
  pg_cpu_us_per_job: number;
  worker_cpu_us_per_job: number;
}

const CONCURRENCY = 50;

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

async function step(env: BenchEnv, fleet: Fleet, count: number, jobs: number, dir: string): Promise<ScalingStep> {
  let workers: SoakWorker[] = [];
  const killAll = () => killWorkers(workers);
  process.once("exit", killAll);
  try {
    workers = await startWorkers(count, env, dir, { label: `scaling${count}`, env: { WORKER_QUEUES: maintenanceKind.name, WORKER_CONCURRENCY: String(CONCURRENCY) } });
    await waitReady(workers, 60_000);
    const queue = fleet.queue(maintenanceKind);
    const idPrefix = `scale${count}-`;
    const pg = await pgCpuSampler(env.pool);
    const redis0 = await redisCpuSeconds(fleet.redis);
    const pids = workers.map((w) => w.pid);
    const workers0 = sum(treeCpuSeconds(pids));
    const t0 = performance.now();
    for (let i = 0; i < jobs; i += 1_000) {
      await queue.addBulk(Array.from({ length: Math.min(1_000, jobs - i) }, (_, j) => flowNode(fleet, maintenanceKind, { task: "smoke", id: `${idPrefix}${i + j}`, message: "scaling" })));
    }
    const until = Date.now() + 10 * 60_000;
    for (;;) {
      const c = await queue.getJobCounts("waiting", "active", "prioritized", "delayed");
      if (!Object.values(c).some((n) => n > 0)) break;
      const gone = exitedWorker(workers);
      if (gone) throw new Error(gone);
      if (Date.now() > until) throw new Error(`scaling step with ${count} workers did not drain within 10 min`);
      await pause(50);
    }
    const seconds = (performance.now() - t0) / 1000;
    const us = (cpuSeconds: number) => Number(((cpuSeconds * 1e6) / jobs).toFixed(1));
    const result = {
      workers: count,
      jobs_per_s: Math.round(jobs / seconds),
      redis_cpu_us_per_job: us((await redisCpuSeconds(fleet.redis)) - redis0),
      pg_cpu_us_per_job: us(await pg()),
      worker_cpu_us_per_job: us(sum(treeCpuSeconds(pids)) - workers0),
    };
    const rows = await smokeRows(env.pool, `smoke.${idPrefix}`);
    if (rows.rows !== jobs || rows.duplicates) throw new Error(`scaling step with ${count} workers: ${rows.rows}/${jobs} smoke rows, ${rows.duplicates} run twice`);
    return result;
  } finally {
    await stopWorkers(workers, 30_000);
    process.off("exit", killAll);
  }
}

/** 1, 2 and 4 worker processes, `jobs` smoke jobs each; logs under `dir`. */
export async function scalingRun(env: BenchEnv, jobs: number, dir: string): Promise<ScalingStep[]> {
  mkdirSync(dir, { recursive: true });
  const fleet = new Fleet({ redisUrl: env.redisUrl, prefix: env.prefix, name: "bench-scaling" });
  try {
    const steps: ScalingStep[] = [];
    for (const n of [1, 2, 4]) steps.push(await step(env, fleet, n, jobs, dir));
    return steps;
  } finally {
    await fleet.close();
  }
}
