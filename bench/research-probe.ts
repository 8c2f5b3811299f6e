// bench:research's look inside the jobs, without changing them: the chunk and rank jobs' own timestamps
// (processedOn / finishedOn, set by BullMQ in the worker), the CPU seconds of the worker processes and of
// PostgreSQL from /proc, and an in-process replay of one chunk's steps (load bars, evaluate, store) and of
// the ranking job's load, each timed on its own.
import { readdirSync, readFileSync } from "node:fs";
import { Job, type Queue } from "bullmq";
import type { Pool } from "../db/pool.ts";
import { findAsset } from "../db/repos/assets.ts";
import { loadBars } from "../db/repos/prices.ts";
import { loadSweepStats } from "../db/repos/sweep-research.ts";
import { saveSweepResults } from "../db/repos/sweeps.ts";
import { DEFAULT_PBO_BLOCKS, evaluateEmaPairs } from "../compute/backtest/sweep.ts";

const TICK = 100; // USER_HZ: /proc/<pid>/stat counts CPU time in 1/100 s on Linux.

/** utime + stime of a process (all its threads), in seconds; 0 once it is gone. */
function cpuOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(f[11]) + Number(f[12])) / TICK;
  } catch {
    return 0;
  }
}

/** CPU seconds of every process whose command is `postgres` (the server and its backends), by pid. */
function postgresCpu(): Map<number, number> {
  const cpu = new Map<number, number>();
  for (const entry of readdirSync("/proc")) {
    const pid = Number(entry);
    if (!pid) continue;
    try {
      if (readFileSync(`/proc/${pid}/comm`, "utf8").trim() === "postgres") cpu.set(pid, cpuOf(pid));
    } catch {
      // gone in between
    }
  }
  return cpu;
}

export interface Cpu {
  workers: number;
  /** By pid: a delta counts the processes alive at its end (a backend that exited in between is missed). */
  postgres: Map<number, number>;
  bench: number;
}

export function cpuNow(workerPids: readonly number[]): Cpu {
  const u = process.cpuUsage();
  return { workers: workerPids.reduce((s, p) => s + cpuOf(p), 0), postgres: postgresCpu(), bench: (u.user + u.system) / 1e6 };
}

export interface CpuDelta {
  workers: number;
  /** The whole server (shared with whatever else uses it meanwhile). */
  postgres: number;
  bench: number;
}

export function cpuSince(a: Cpu, b: Cpu): CpuDelta {
  let postgres = 0;
  for (const [pid, s] of b.postgres) postgres += Math.max(0, s - (a.postgres.get(pid) ?? 0));
  return { workers: b.workers - a.workers, postgres, bench: b.bench - a.bench };
}

export interface JobTimes {
  jobs: number;
  /** Sum of the jobs' run times (processedOn → finishedOn of the attempt that finished), seconds. */
  busyS: number;
  /** Epoch ms of the first start and the last finish. */
  firstStart: number;
  lastFinish: number;
  /** The slowest job, seconds. */
  maxS: number;
}

/** Timestamps of finished jobs by id (missing or unfinished ones are left out). */
export async function jobTimes(queue: Queue, ids: readonly string[]): Promise<JobTimes> {
  const t: JobTimes = { jobs: 0, busyS: 0, firstStart: Infinity, lastFinish: 0, maxS: 0 };
  for (let i = 0; i < ids.length; i += 100) {
    const jobs = await Promise.all(ids.slice(i, i + 100).map((id) => Job.fromId(queue, id)));
    for (const j of jobs) {
      if (!j?.processedOn || !j.finishedOn) continue;
      const s = (j.finishedOn - j.processedOn) / 1000;
      t.jobs++;
      t.busyS += s;
      t.maxS = Math.max(t.maxS, s);
      t.firstStart = Math.min(t.firstStart, j.processedOn);
      t.lastFinish = Math.max(t.lastFinish, j.finishedOn);
    }
  }
  return t;
}

export interface ChunkReplay {
  pairs: number;
  /** Whether the part's chunks computed and stored block summaries (not for a sweep over the research limit). */
  blocks: boolean;
  loadBarsS: number;
  /** The backtests and statistics without and with the block summaries. */
  computeNoBlocksS: number;
  computeBlocksS: number;
  /** saveSweepResults of the rows without and with the two block arrays. */
  saveNoBlocksS: number;
  saveBlocksS: number;
}

/**
 * One chunk's steps replayed here, one at a time, on `pairs` of `asset` (in scratch sweep ids whose rows are
 * deleted again), each step timed 3 times, the best kept: what a chunk job spends on loading bars, on the backtests (in this process, not in the
 * worker's compute thread) and on storing its rows — each with and without the per-row block summaries.
 */
export async function replayChunk(pool: Pool, asset: string, pairs: Array<[number, number]>, feeBps: number, blocks: boolean): Promise<ChunkReplay> {
  const a = (await findAsset(pool, asset))!;
  // Each step's best of 3 (this machine is shared: the best is the least disturbed).
  const best = async <T>(f: () => T | Promise<T>): Promise<[T, number]> => {
    let out!: T;
    let min = Infinity;
    for (let i = 0; i < 3; i++) {
      const t = performance.now();
      out = await f();
      min = Math.min(min, (performance.now() - t) / 1000);
    }
    return [out, min];
  };
  const [bars, loadBarsS] = await best(() => loadBars(pool, a.asset_id, "9999-12-31"));
  const input = { open: bars.open, close: bars.close, dates: bars.dates, feeBps, periodsPerYear: a.periods_per_year, pboBlocks: DEFAULT_PBO_BLOCKS };
  // Warm-up of both paths (the worker's thread is warm too).
  for (let i = 0; i < 3; i++) for (const blockSummaries of [false, true]) evaluateEmaPairs({ ...input, pairs: pairs.slice(0, 200), blockSummaries });
  const [plain, computeNoBlocksS] = await best(() => evaluateEmaPairs({ ...input, pairs, blockSummaries: false }));
  const [rows, computeBlocksS] = await best(() => evaluateEmaPairs({ ...input, pairs }));
  const id = `probe-${process.pid}`;
  let k = 0;
  const [, saveBlocksS] = await best(() => saveSweepResults(pool, `${id}-a${k++}`, rows));
  const [, saveNoBlocksS] = await best(() => saveSweepResults(pool, `${id}-b${k++}`, plain));
  await pool.query("DELETE FROM sweep_results WHERE sweep_id LIKE $1", [`${id}-%`]);
  return { pairs: pairs.length, blocks, loadBarsS, computeNoBlocksS, computeBlocksS, saveNoBlocksS, saveBlocksS };
}

/** The ranking job's one big read (every combination's statistics; the block arrays only when it has a PBO), timed here. */
export async function timeStatsLoad(pool: Pool, sweepId: string, withBlocks: boolean): Promise<{ rows: number; seconds: number }> {
  const t = performance.now();
  const st = await loadSweepStats(pool, sweepId, DEFAULT_PBO_BLOCKS, withBlocks);
  return { rows: st.sr.length, seconds: (performance.now() - t) / 1000 };
}
