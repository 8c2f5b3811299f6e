// bench:capacity's measurement of one batch: enqueue it, wait until the worker's own metrics
// (observability.metrics, flushed every 10 s) count every job of it as completed — so the telemetry the
// jobs cause (spans, metric rows, workflow events) is written before the clock stops — and read the CPU of
// the worker process, the bench database's PostgreSQL backends and Redis (bench/fleet-workers.ts) around
// it, net of what the same wait costs with nothing to do (the idle rates, measured once with the same polling).
import { setTimeout as sleep } from "node:timers/promises";
import type { Pool } from "../db/pool.ts";
import { cpuDelta, type CpuReading } from "./fleet-workers.ts";
import { jobTotals, type JobTotals } from "./fleet-report.ts";

export interface Batch {
  label: string;
  /** What one unit is: a job, an asset (a whole daily-refresh run) or a sweep (its flow). */
  unit: "job" | "asset" | "sweep";
  units: number;
  /** Completions per metrics key (`queue/job`) that end the batch. */
  expect: Record<string, number>;
  enqueue(): Promise<void>;
  /** Rows written: what the jobs report (the rows_written metric) plus the rows added to these tables. */
  rowTables?: readonly string[];
}

export interface Measured {
  label: string;
  unit: Batch["unit"];
  units: number;
  /** Enqueue → the last completion counted by the metrics (includes up to one 10 s flush interval). */
  seconds: number;
  /** The jobs' own run time (job_run_ms), summed over every kind that ran. */
  runMs: number;
  rows: number;
  spans: number;
  /** CPU seconds net of the idle rates over the same time. */
  cpu: CpuReading;
}

export interface Meter {
  pool: Pool;
  clock(): Promise<CpuReading>;
  /** Why the worker cannot finish the batch (it exited), else undefined. */
  dead(): string | undefined;
  timeoutMs: number;
}

const POLL_MS = 1_000;

async function countRows(pool: Pool, tables: readonly string[]): Promise<number> {
  if (!tables.length) return 0;
  const { rows } = await pool.query<{ n: number }>(`SELECT ${tables.map((t) => `(SELECT count(*) FROM ${t})`).join(" + ")} AS n`);
  return Number(rows[0]!.n);
}

const spanCount = (pool: Pool) => countRows(pool, ["observability.spans"]);

function progress(before: JobTotals, after: JobTotals, key: string) {
  const a = after.byJob.get(key);
  const b = before.byJob.get(key);
  return { completed: (a?.completed ?? 0) - (b?.completed ?? 0), failed: (a?.failed ?? 0) - (b?.failed ?? 0), runMs: (a?.runMs ?? 0) - (b?.runMs ?? 0), rows: (a?.rows ?? 0) - (b?.rows ?? 0) };
}

/** CPU per second with nothing to do but the polling every batch does (the worker's idle loops, metric flushes). */
export async function idleRates(m: Meter, seconds: number): Promise<CpuReading> {
  const c0 = await m.clock();
  const t0 = performance.now();
  while (performance.now() - t0 < seconds * 1000) {
    await jobTotals(m.pool);
    await sleep(POLL_MS);
  }
  const s = (performance.now() - t0) / 1000;
  return scale(cpuDelta(c0, await m.clock()), 1 / s);
}

const scale = (c: CpuReading, k: number): CpuReading => ({ redis: c.redis * k, pg: c.pg * k, pgOwn: c.pgOwn * k, workers: c.workers.map((w) => w * k), bench: c.bench * k });

export async function measure(m: Meter, idle: CpuReading, b: Batch): Promise<Measured> {
  const before = await jobTotals(m.pool);
  const rows0 = b.rowTables ? await countRows(m.pool, b.rowTables) : 0;
  const spans0 = await spanCount(m.pool);
  const c0 = await m.clock();
  const t0 = performance.now();
  await b.enqueue();
  const deadline = Date.now() + m.timeoutMs;
  let after: JobTotals;
  for (;;) {
    after = await jobTotals(m.pool);
    const p = Object.entries(b.expect).map(([key, n]) => ({ key, n, ...progress(before, after, key) }));
    const failed = p.find((x) => x.failed > 0);
    if (failed) throw new Error(`${b.label}: ${failed.failed} ${failed.key} job(s) failed (see the worker log)`);
    if (p.every((x) => x.completed >= x.n)) break;
    const dead = m.dead();
    if (dead) throw new Error(`${b.label}: ${dead}`);
    if (Date.now() > deadline) throw new Error(`${b.label}: not done after ${m.timeoutMs} ms: ${p.map((x) => `${x.key} ${x.completed}/${x.n}`).join(", ")}`);
    await sleep(POLL_MS);
  }
  const seconds = (performance.now() - t0) / 1000;
  const raw = cpuDelta(c0, await m.clock());
  const net = (x: number, rate: number) => x - rate * seconds;
  const cpu: CpuReading = { redis: net(raw.redis, idle.redis), pg: net(raw.pg, idle.pg), pgOwn: net(raw.pgOwn, idle.pgOwn), workers: raw.workers.map((w, i) => net(w, idle.workers[i] ?? 0)), bench: raw.bench };
  // Over every queue/job: a daily-refresh run's jobs are of many kinds.
  const all = [...after.byJob.keys()].map((k) => progress(before, after, k));
  const runMs = all.reduce((n, p) => n + p.runMs, 0);
  const rows = all.reduce((n, p) => n + p.rows, 0) + (b.rowTables ? (await countRows(m.pool, b.rowTables)) - rows0 : 0);
  return { label: b.label, unit: b.unit, units: b.units, seconds, runMs, rows, spans: (await spanCount(m.pool)) - spans0, cpu };
}
