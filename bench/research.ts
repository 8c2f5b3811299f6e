// `npm run bench:research`: sweep research and walk-forward, end to end as jobs on 2 real worker processes
// (apps/worker/main.ts, as bench:backtest starts them), every figure from enqueue until the results are
// stored: (1) DSR + PBO (S = 16) of a 10,000-combination BTC-USD EMA sweep, and its ranking job alone;
// (2) a walk-forward of ~400 combinations × 7 windows on BTC-USD; (3) two ~500,000-combination EMA sweeps
// (BTC-USD and ETH-USD, fast 2..1001 × slow 3..1002, fast < slow), enqueued together and run concurrently.
// Then where the time went: the chunk and ranking jobs' own timestamps, the CPU of the workers and of
// PostgreSQL, and one chunk's steps and the ranking job's load replayed and timed here (bench/research-probe.ts).
import { spawn } from "node:child_process";
import { resolve } from "node:path";
import { commandLine, usageError } from "../apps/command-line.ts";
import { findAsset } from "../db/repos/assets.ts";
import { countBars } from "../db/repos/prices.ts";
import { waitForJob } from "../producers/progress.ts";
import { Fleet } from "../queues/fleet.ts";
import { enqueueSweep, sweepTree, type SweepSpec } from "../queues/flows/sweep.ts";
import { enqueueWalkForward, walkForwardTree, type WalkForwardSpec } from "../queues/flows/walk-forward.ts";
import type { BacktestResult } from "../queues/kinds/backtest.ts";
import { backtestKind } from "../queues/registry.ts";
import { emaGridPairs, type IntRange } from "../compute/backtest/sweep-grid.ts";
import { pboTooLarge } from "../compute/research/sweep-research.ts";
import { benchEnv } from "./env.ts";
import { cpuNow, cpuSince, jobTimes, replayChunk, timeStatsLoad, type ChunkReplay, type CpuDelta, type JobTimes } from "./research-probe.ts";

const USAGE = `Usage: npm run bench:research

Sweep research and walk-forward as jobs on 2 worker processes (apps/worker/main.ts, --queues backtest
--concurrency 1, COMPUTE_THREADS=1), each timed from enqueue until its results are stored:
  pbo  DSR + PBO (S = 16) of a 10,000-combination BTC-USD EMA sweep (fast 5..104 × slow 110..209): until
       its sweep_research row is stored (goal ≤ 10 s), and the ranking job alone (its run time)
  wf   walk-forward on BTC-USD, fast 5..24 × slow 30..49 (400 fast < slow pairs), train 730, test 365
       (7 windows): until walk_forwards is stored (goal ≤ 10 s)
  1m   EMA sweeps of fast 2..1001 × slow 3..1002 (500,500 fast < slow pairs) on BTC-USD and on ETH-USD,
       1,001,000 combinations, enqueued together and run concurrently: until both are ranked and stored
       (goal ≤ 60 s); a sweep over the PBO's limit (100,000 combinations) stores its DSR with the PBO
       skipped (pbo_skipped_reason), and its chunks store no block summaries
Then where the time went (job timestamps, CPU of the workers and of PostgreSQL, one chunk replayed step by
step here) and one JSON line. Variables (defaults):
  BENCH_RESEARCH_PARTS (pbo,wf,1m)   which parts to run, in that order
  BENCH_RESEARCH_SCALE (1)           0 < x ≤ 1: each grid keeps ~x of its combinations (both ranges cut to
                                     √x of their width), e.g. 0.01 for a quick run
  BENCH_RESEARCH_PBO_FAST / _PBO_SLOW, _WF_FAST / _WF_SLOW, _1M_FAST / _1M_SLOW   explicit LO..HI ranges
                                     (override the scale)
  BENCH_RESEARCH_1M_ASSETS (BTC-USD,ETH-USD)   assets of part 1m, one sweep each
  BENCH_RESEARCH_CHUNK (500)         combinations per chunk job of part pbo (bench:backtest's)
  BENCH_RESEARCH_1M_CHUNK (2000)     combinations per chunk job of part 1m (the product allows 1..5000)
  BENCH_RESEARCH_WF_TRAIN (730) / BENCH_RESEARCH_WF_TEST (365)   walk-forward windows in bars
  BENCH_RESEARCH_TIMEOUT_S (1200)    longest wait for one part
  BENCH_RESEARCH_PROBE (1)           0 skips the replay of a chunk and of the ranking job's load
  BENCH_RESEARCH_WARMUP (1)          0 skips the untimed warm-up sweep (4 one-combination chunks) that
                                     starts each worker's compute thread before the clock
Servers: the embedded dev ones (DATA_DIR, EMBED_*_PORT, or REDIS_URL / DATABASE_URL), in a database and key
prefix of the bench's own, dropped at the end.
`;
commandLine("bench:research", USAGE);

const bad = (key: string, why: string): never => usageError("bench:research", USAGE, `${key}: ${why} (got ${JSON.stringify(process.env[key])})`);
function envNum(key: string, def: number, ok: (x: number) => boolean, what: string): number {
  const raw = process.env[key];
  if (raw === undefined || raw === "") return def;
  const x = Number(raw);
  return ok(x) ? x : bad(key, what);
}
const SCALE = envNum("BENCH_RESEARCH_SCALE", 1, (x) => x > 0 && x <= 1, "a number in (0, 1]");
/** LO..HI from the variable, else [lo, hi] with its width cut to √SCALE (at least 2 values). */
function envRange(key: string, lo: number, hi: number): IntRange {
  const raw = process.env[key];
  if (raw !== undefined && raw !== "") {
    const m = /^(\d+)\.\.(\d+)$/.exec(raw);
    if (!m || Number(m[1]) < 1 || Number(m[2]) < Number(m[1])) bad(key, "LO..HI, 1 ≤ LO ≤ HI");
    return [Number(m![1]), Number(m![2]), 1];
  }
  const width = Math.max(2, Math.round((hi - lo + 1) * Math.sqrt(SCALE)));
  return [lo, lo + width - 1, 1];
}
const int = (key: string, def: number, lo: number, hi: number) => envNum(key, def, (x) => Number.isInteger(x) && x >= lo && x <= hi, `an integer ${lo}..${hi}`);

const PARTS = (process.env.BENCH_RESEARCH_PARTS ?? "pbo,wf,1m").split(",").map((p) => p.trim()).filter(Boolean);
for (const p of PARTS) if (!["pbo", "wf", "1m"].includes(p)) bad("BENCH_RESEARCH_PARTS", `unknown part ${p}; pbo, wf, 1m`);
const PBO_GRID = { fast: envRange("BENCH_RESEARCH_PBO_FAST", 5, 104), slow: envRange("BENCH_RESEARCH_PBO_SLOW", 110, 209) };
const WF_GRID = { fast: envRange("BENCH_RESEARCH_WF_FAST", 5, 24), slow: envRange("BENCH_RESEARCH_WF_SLOW", 30, 49) };
const BIG_GRID = { fast: envRange("BENCH_RESEARCH_1M_FAST", 2, 1001), slow: envRange("BENCH_RESEARCH_1M_SLOW", 3, 1002) };
const BIG_ASSETS = (process.env.BENCH_RESEARCH_1M_ASSETS ?? "BTC-USD,ETH-USD").split(",").map((a) => a.trim()).filter(Boolean);
const CHUNK = int("BENCH_RESEARCH_CHUNK", 500, 1, 5000);
const BIG_CHUNK = int("BENCH_RESEARCH_1M_CHUNK", 2000, 1, 5000);
const WF_TRAIN = int("BENCH_RESEARCH_WF_TRAIN", 730, 2, 100_000);
const WF_TEST = int("BENCH_RESEARCH_WF_TEST", 365, 2, 100_000);
const TIMEOUT_MS = int("BENCH_RESEARCH_TIMEOUT_S", 1200, 1, 86_400) * 1000;
const PROBE = process.env.BENCH_RESEARCH_PROBE !== "0";
const WARMUP = process.env.BENCH_RESEARCH_WARMUP !== "0";
const GOALS = { pbo: 10, wf: 10, big: 60 };
const FEE_BPS = 10;

const env = await benchEnv("research");
const fleet = new Fleet({ redisUrl: env.redisUrl, prefix: env.prefix });
const queue = fleet.queue(backtestKind);
const workers = [1, 2].map(() =>
  spawn(process.execPath, ["--import", "tsx", resolve(import.meta.dirname, "../apps/worker/main.ts"), "--queues", "backtest", "--concurrency", "1"], {
    env: { ...process.env, REDIS_URL: env.redisUrl, DATABASE_URL: env.databaseUrl, QUEUE_PREFIX: env.prefix, LOG_LEVEL: "warn", LOG_PRETTY: "0", COMPUTE_THREADS: "1" },
    stdio: ["ignore", "inherit", "inherit"],
  }),
);
const exited = workers.map((w) => new Promise((r) => w.once("exit", r)));
const killAll = () => {
  for (const w of workers) if (w.exitCode === null && w.signalCode === null) w.kill("SIGKILL");
};
process.once("exit", killAll);
const interrupt = new AbortController();
for (const sig of ["SIGINT", "SIGTERM"] as const) process.once(sig, () => interrupt.abort(new Error(`interrupted (${sig})`)));
const workerPids = workers.map((w) => w.pid!);
const deadWorker = () => {
  const w = workers.find((x) => x.exitCode !== null || x.signalCode !== null);
  return w && `worker pid ${w.pid} exited with ${w.exitCode ?? w.signalCode}`;
};

/** Waits for a root job; throws on failure, timeout, interruption or a worker that died. */
async function finished(rootJobId: string, what: string) {
  const { state, job } = await waitForJob(queue, rootJobId, what, {
    timeoutMs: TIMEOUT_MS,
    intervalMs: 50,
    signal: interrupt.signal,
    onPending: async () => {
      const dead = deadWorker();
      if (dead) throw new Error(`${what}: ${dead}`);
    },
  });
  if (state === "failed") throw new Error(`${what} failed: ${job.failedReason}`);
  return job;
}

interface SweepRun {
  spec: SweepSpec;
  sweepId: string;
  combos: number;
  chunks: number;
  /** Enqueue start → root finished (its rows, sweeps and sweep_research committed before), seconds. */
  endToEndS: number;
  rankS: number;
  chunkTimes: JobTimes;
  rankStart: number;
  result: BacktestResult;
  research: { dsr: number | null; pbo: number | null; skipped_reason: string | null; pbo_skipped_reason: string | null; n: number | null; splits: number | null; best_fast: number | null; best_slow: number | null };
  stored: number;
}

/** Enqueues every sweep (one flow each, back to back), then waits for all: they run concurrently. */
async function runSweeps(specs: SweepSpec[]): Promise<{ runs: SweepRun[]; wallS: number; enqueueS: number; cpu: CpuDelta }> {
  const cpu0 = cpuNow(workerPids);
  const t0 = Date.now();
  const enq = [];
  for (const s of specs) enq.push(await enqueueSweep(fleet, s));
  const enqueueS = (Date.now() - t0) / 1000;
  const roots = await Promise.all(enq.map((e) => finished(e.rootJobId, `sweep ${e.sweepId}`)));
  const cpu = cpuSince(cpu0, cpuNow(workerPids));
  const runs: SweepRun[] = [];
  for (const [i, e] of enq.entries()) {
    const root = roots[i]!;
    const ids = sweepTree(fleet, specs[i]!).tree.children!.map((c) => c.opts!.jobId!);
    const { rows } = await env.pool.query(
      `SELECT (SELECT count(*)::int FROM sweep_results WHERE sweep_id = $1) AS stored, r.dsr, r.pbo, r.skipped_reason, r.pbo_skipped_reason, r.n, r.splits,
              r.best_fast, r.best_slow
       FROM sweep_research r WHERE r.sweep_id = $1`,
      [e.sweepId],
    );
    if (!rows[0]) throw new Error(`sweep ${e.sweepId} completed without a sweep_research row`);
    runs.push({
      spec: specs[i]!,
      sweepId: e.sweepId,
      combos: e.combos,
      chunks: e.chunks,
      endToEndS: (root.finishedOn! - t0) / 1000,
      rankS: (root.finishedOn! - root.processedOn!) / 1000,
      rankStart: root.processedOn!,
      chunkTimes: await jobTimes(queue, ids),
      result: root.returnvalue as BacktestResult,
      research: rows[0],
      stored: rows[0].stored,
    });
    if (rows[0].stored !== e.combos) throw new Error(`sweep ${e.sweepId}: ${rows[0].stored} rows stored in sweep_results, expected ${e.combos}`);
  }
  return { runs, wallS: Math.max(...runs.map((r) => r.endToEndS)), enqueueS, cpu };
}

const f2 = (x: number) => x.toFixed(2);
const n0 = (x: number) => Math.round(x).toLocaleString("en-US");
const rangeText = (r: IntRange) => `${r[0]}..${r[1]}`;
/** A sweep's stored research: the DSR of its best, then its PBO or why that was skipped; or why both were. */
function researchText(r: SweepRun["research"]): string {
  if (r.skipped_reason) return `research skipped: ${r.skipped_reason}`;
  const pbo = r.pbo_skipped_reason ? `PBO skipped: ${r.pbo_skipped_reason}` : `PBO ${Number(r.pbo).toFixed(3)}, ${r.splits} splits`;
  return `best ${r.best_fast}/${r.best_slow}: DSR ${Number(r.dsr).toFixed(3)} over N = ${r.n}; ${pbo}`;
}
const table: string[][] = [["measure", "seconds", "goal", "detail"]];
const notes: string[] = [];
const json: Record<string, unknown> = { bench: "research" };
let replayTarget: { asset: string; pairs: Array<[number, number]>; chunks: number; combos: number; label: string; blocks: boolean } | undefined;

function explain(label: string, s: { runs: SweepRun[]; wallS: number; enqueueS: number; cpu: CpuDelta }): void {
  notes.push(`${label}: enqueue ${f2(s.enqueueS)} s; CPU over the part: workers ${f2(s.cpu.workers)} s, PostgreSQL (whole server) ${f2(s.cpu.postgres)} s, this process ${f2(s.cpu.bench)} s, over ${f2(s.wallS)} s × 2 cores`);
  for (const r of s.runs) {
    const c = r.chunkTimes;
    const chunkSpan = (c.lastFinish - c.firstStart) / 1000;
    notes.push(
      `  ${r.spec.asset} ${r.sweepId}: ${n0(r.combos)} combinations, ${r.chunks} chunks of ≤ ${r.spec.chunkSize}; chunks ran ${f2(chunkSpan)} s ` +
        `(${f2(c.busyS)} job-seconds, ${f2(c.busyS / Math.max(c.jobs, 1))} s each, slowest ${f2(c.maxS)} s; ${n0(r.combos / Math.max(c.busyS, 1e-9))} combinations per job-second), ` +
        `last chunk → rank start ${f2((r.rankStart - c.lastFinish) / 1000)} s, rank ${f2(r.rankS)} s; ${researchText(r.research)}`,
    );
  }
}

try {
  for (let i = 0; (await queue.getWorkersCount()) < 2; i++) {
    if (i > 600) throw new Error(`worker processes did not come up within 60 s${deadWorker() ? `: ${deadWorker()}` : ""}`);
    await new Promise((r) => setTimeout(r, 100));
  }

  if (WARMUP) {
    // Each worker's compute thread starts with its first job (and then stays 15 min): one tiny sweep of 4
    // one-combination chunks before the clock, so the figures are the work, not thread start-up.
    const t = performance.now();
    const w = await enqueueSweep(fleet, { asset: "BTC-USD", strategy: "ema_cross", fast: [3, 4, 1], slow: [5, 6, 1], feeBps: FEE_BPS, topN: 1, chunkSize: 1, s: 16 });
    await finished(w.rootJobId, "warm-up sweep");
    notes.push(`warm-up (not timed in the figures): a 4-combination sweep in 4 chunks, ${f2((performance.now() - t) / 1000)} s (compute-thread start-up in each worker)`);
  }

  if (PARTS.includes("pbo")) {
    const spec: SweepSpec = { asset: "BTC-USD", strategy: "ema_cross", fast: PBO_GRID.fast, slow: PBO_GRID.slow, feeBps: FEE_BPS, topN: 5, chunkSize: CHUNK, s: 16 };
    const s = await runSweeps([spec]);
    const r = s.runs[0]!;
    table.push(["sweep + DSR + PBO, enqueue → sweep_research stored", f2(r.endToEndS), `≤ ${GOALS.pbo}`, `${n0(r.combos)} combinations (fast ${rangeText(spec.fast)} × slow ${rangeText(spec.slow)}), ${r.chunks} chunks, S = 16`]);
    table.push(["  of which the ranking job (top, DSR, PBO, store)", f2(r.rankS), "", researchText(r.research)]);
    Object.assign(json, { pbo_10k_s: Number(f2(r.endToEndS)), pbo_10k_goal_s: GOALS.pbo, pbo_10k_combinations: r.combos, pbo_10k_chunks: r.chunks, pbo_10k_rank_s: Number(f2(r.rankS)), dsr: r.research.dsr, pbo: r.research.pbo, pbo_splits: r.research.splits });
    explain("pbo", s);
    if (PROBE) {
      const load = await timeStatsLoad(env.pool, r.sweepId, pboTooLarge(r.combos) === null);
      notes.push(`  the ranking job's statistics load replayed here: ${n0(load.rows)} rows in ${f2(load.seconds)} s (the rest of the rank, ≈ ${f2(Math.max(0, r.rankS - load.seconds))} s, is mostly DSR + PBO in the compute thread)`);
      json.pbo_10k_rank_load_s = Number(f2(load.seconds));
    }
    replayTarget ??= { asset: spec.asset, pairs: emaGridPairs(spec.fast, spec.slow).slice(0, CHUNK) as Array<[number, number]>, chunks: r.chunks, combos: r.combos, label: "pbo", blocks: pboTooLarge(r.combos) === null };
  }

  if (PARTS.includes("wf")) {
    const spec: WalkForwardSpec = { asset: "BTC-USD", strategy: "ema_cross", fast: WF_GRID.fast, slow: WF_GRID.slow, train: WF_TRAIN, test: WF_TEST, feeBps: FEE_BPS };
    const bars = await countBars(env.pool, (await findAsset(env.pool, spec.asset))!.asset_id);
    const combos = emaGridPairs(spec.fast, spec.slow).length;
    const cpu0 = cpuNow(workerPids);
    const t0 = Date.now();
    const e = await enqueueWalkForward(fleet, spec, bars);
    const root = await finished(e.rootJobId, `walk-forward ${e.walkForwardId}`);
    const cpu = cpuSince(cpu0, cpuNow(workerPids));
    const seconds = (root.finishedOn! - t0) / 1000;
    const { rows } = await env.pool.query(
      `SELECT w.windows, w.wfe, (SELECT count(*)::int FROM walk_forward_windows x WHERE x.walk_forward_id = w.walk_forward_id) AS stored
       FROM walk_forwards w WHERE w.walk_forward_id = $1`,
      [e.walkForwardId],
    );
    if (!rows[0] || rows[0].stored !== e.windows) throw new Error(`walk-forward ${e.walkForwardId}: ${rows[0]?.stored ?? 0} windows stored, expected ${e.windows}`);
    const ids = walkForwardTree(fleet, spec, bars).tree.children!.map((c) => c.opts!.jobId!);
    const w = await jobTimes(queue, ids);
    table.push(["walk-forward, enqueue → walk_forwards stored", f2(seconds), `≤ ${GOALS.wf}`, `${combos} combinations × ${e.windows} windows (fast ${rangeText(spec.fast)} × slow ${rangeText(spec.slow)}, train ${spec.train}, test ${spec.test}), WFE ${Number(rows[0].wfe).toFixed(3)}`]);
    table.push(["  of which the stitching root job", f2((root.finishedOn! - root.processedOn!) / 1000), "", ""]);
    notes.push(
      `wf: ${e.windows} window jobs ran ${f2((w.lastFinish - w.firstStart) / 1000)} s (${f2(w.busyS)} job-seconds, slowest ${f2(w.maxS)} s: ${n0((combos * e.windows) / Math.max(w.busyS, 1e-9))} train backtests per job-second); ` +
        `last window → root start ${f2((root.processedOn! - w.lastFinish) / 1000)} s; CPU: workers ${f2(cpu.workers)} s, PostgreSQL ${f2(cpu.postgres)} s`,
    );
    Object.assign(json, { walk_forward_s: Number(f2(seconds)), walk_forward_goal_s: GOALS.wf, wf_combinations: combos, wf_windows: e.windows });
  }

  if (PARTS.includes("1m")) {
    const specs = BIG_ASSETS.map((asset): SweepSpec => ({ asset, strategy: "ema_cross", fast: BIG_GRID.fast, slow: BIG_GRID.slow, feeBps: FEE_BPS, topN: 5, chunkSize: BIG_CHUNK, s: 16 }));
    const s = await runSweeps(specs);
    const combos = s.runs.reduce((n, r) => n + r.combos, 0);
    const chunks = s.runs.reduce((n, r) => n + r.chunks, 0);
    table.push([`${s.runs.length} sweeps run concurrently, enqueue → all stored`, f2(s.wallS), `≤ ${GOALS.big}`, `${n0(combos)} combinations (fast ${rangeText(BIG_GRID.fast)} × slow ${rangeText(BIG_GRID.slow)} on ${BIG_ASSETS.join(" and ")}), ${chunks} chunks`]);
    for (const r of s.runs) {
      table.push([`  ${r.spec.asset}: enqueue → stored`, f2(r.endToEndS), "", `${n0(r.combos)} combinations`]);
      table.push([`  ${r.spec.asset}: of which the ranking job`, f2(r.rankS), "", researchText(r.research)]);
    }
    Object.assign(json, {
      sweep_1m_s: Number(f2(s.wallS)),
      sweep_1m_goal_s: GOALS.big,
      sweep_1m_mode: "concurrent",
      sweep_1m_combinations: combos,
      sweep_1m_chunks: chunks,
      sweep_1m_rank_s: s.runs.map((r) => Number(f2(r.rankS))),
      sweep_1m_chunk_job_s: Number(f2(s.runs.reduce((n, r) => n + r.chunkTimes.busyS, 0))),
      sweep_1m_dsr: Object.fromEntries(s.runs.map((r) => [r.spec.asset, r.research.dsr])),
    });
    explain("1m", s);
    if (PROBE && !s.runs[0]!.research.skipped_reason) {
      const withBlocks = pboTooLarge(s.runs[0]!.combos) === null;
      const load = await timeStatsLoad(env.pool, s.runs[0]!.sweepId, withBlocks);
      notes.push(`  the ranking job's statistics load replayed here (${s.runs[0]!.spec.asset}, ${withBlocks ? "with" : "without"} the block arrays): ${n0(load.rows)} rows in ${f2(load.seconds)} s; the rest of its rank, ≈ ${f2(Math.max(0, s.runs[0]!.rankS - load.seconds))} s, is the top, ${withBlocks ? "DSR + PBO" : "the DSR"} in the compute thread and the store`);
      json.sweep_1m_rank_load_s = Number(f2(load.seconds));
    }
    const big = s.runs[0]!;
    const all = emaGridPairs(big.spec.fast, big.spec.slow);
    const mid = Math.max(0, Math.floor(all.length / 2) - Math.floor(BIG_CHUNK / 2));
    replayTarget = { asset: big.spec.asset, pairs: all.slice(mid, mid + BIG_CHUNK) as Array<[number, number]>, chunks, combos, label: "1m", blocks: pboTooLarge(big.combos) === null };
  }

  if (PROBE && replayTarget) {
    const t = replayTarget;
    const r: ChunkReplay = await replayChunk(env.pool, t.asset, t.pairs, FEE_BPS, t.blocks);
    const per = (x: number) => (x / r.pairs) * t.combos;
    const [compute, save] = t.blocks ? [r.computeBlocksS, r.saveBlocksS] : [r.computeNoBlocksS, r.saveNoBlocksS];
    notes.push(
      `one ${t.label} chunk replayed here (${r.pairs} combinations of ${t.asset}; its chunks ${t.blocks ? "computed and stored" : "skipped"} the block summaries): load bars ${f2(r.loadBarsS)} s, ` +
        `backtests + statistics ${f2(r.computeNoBlocksS)} s without the block summaries / ${f2(r.computeBlocksS)} s with (${n0(r.pairs / compute)}/s on one core as the chunks ran), ` +
        `store ${f2(r.saveNoBlocksS)} s without / ${f2(r.saveBlocksS)} s with the block arrays; scaled to the part's ${n0(t.combos)} combinations in ${t.chunks} chunks, as they ran: ` +
        `compute ≈ ${f2(per(compute))} s, store ≈ ${f2(per(save))} s (with the arrays it would be ${f2(per(r.saveBlocksS))} s), bar loads ≈ ${f2(r.loadBarsS * t.chunks)} s — ` +
        `core-seconds, shared by 2 workers and PostgreSQL on 2 cores`,
    );
    Object.assign(json, {
      replay_part: t.label,
      replay_compute_per_s: Math.round(r.pairs / compute),
      replay_store_rows_per_s: Math.round(r.pairs / save),
      replay_store_with_blocks_rows_per_s: Math.round(r.pairs / r.saveBlocksS),
    });
  }
  const { rows: size } = await env.pool.query(`SELECT count(*)::int AS n, pg_total_relation_size('sweep_results') AS bytes FROM sweep_results`);
  notes.push(`sweep_results: ${n0(size[0].n)} rows, ${n0(Number(size[0].bytes) / 2 ** 20)} MB with indexes`);
  json.scale = SCALE;

  const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  for (const row of table) console.log(row.map((c, i) => (i === 1 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join("  ").trimEnd());
  console.log("\nwhere the time went:");
  for (const n of notes) console.log(n);
  console.log(JSON.stringify(json));
} finally {
  for (const w of workers) if (w.exitCode === null && w.signalCode === null) w.kill("SIGTERM");
  const late = setTimeout(killAll, 15_000);
  await Promise.all(exited);
  clearTimeout(late);
  await fleet.close();
  await env.close();
}
process.exit(0);
