// Backtest jobs: a configured strategy's backtest in the daily-refresh flow, the chunks and ranking of
// parameter sweeps, and the windows and stitching of walk-forward optimisations. The engine is pure; this
// file loads, runs and stores.
import { Job } from "bullmq";
import { findAsset } from "../../db/repos/assets.ts";
import { saveBacktestRun } from "../../db/repos/backtests.ts";
import { loadBars } from "../../db/repos/prices.ts";
import { loadWalkForwardWindows, recordWalkForward, saveWalkForwardWindow } from "../../db/repos/walk-forward.ts";
import { inTransaction } from "../../db/pool.ts";
import { loadSweepStats, saveSweepResearch, type SweepResearchRecord } from "../../db/repos/sweep-research.ts";
import { recordSweep, saveSweepResults, topSweepResults, type SweepTopRow } from "../../db/repos/sweeps.ts";
import { DEFAULT_PBO_BLOCKS, type SweepRow } from "../../compute/backtest/sweep.ts";
import { emaGridPairs, emaGridSize } from "../../compute/backtest/sweep-grid.ts";
import { stitch, type HindsightBest, type HindsightInput, type WindowInput, type WindowResult } from "../../compute/backtest/walk-forward.ts";
import { PBO_MAX_COMBINATIONS, pboTooLarge, type SweepResearch, type SweepResearchInput } from "../../compute/research/sweep-research.ts";
import type { PayloadOf } from "../../queues/kind.ts";
import type { BacktestResult as JobResult, SweepResearchSummary } from "../../queues/kinds/backtest.ts";
import { backtestKind } from "../../queues/registry.ts";
import type { WorkerDeps } from "../deps.ts";
import { PermanentError } from "../errors.ts";
import { childOutcomes } from "../flow/children.ts";
import type { JobContext, Processor } from "../runtime.ts";
import { loadStrategyInputs } from "../signal/load.ts";
import { runFeatureDigest, runFeatureHash, type StrategyRun } from "../../compute/signals/strategy.ts";
import type { SignalResult } from "../../queues/kinds/signal.ts";
import { runBacktest } from "../../compute/backtest/engine.ts";
import { paramsHash } from "../../compute/backtest/hash.ts";

type Payload = PayloadOf<typeof backtestKind>;
const DEFAULT_FEE_BPS = 10;

export interface BacktestProcessorOptions {
  /** The largest sweep whose PBO is computed (compute/research/sweep-research.ts pboTooLarge); tests lower it. */
  pboMaxCombinations?: number;
}

export function backtestProcessor(deps: WorkerDeps, opts: BacktestProcessorOptions = {}): Processor<typeof backtestKind> {
  const pboMax = opts.pboMaxCombinations ?? PBO_MAX_COMBINATIONS;
  return async (p, ctx) => {
    switch (p.mode) {
      case "signal":
        return signalBacktest(deps, p, ctx);
      case "sweep-chunk":
        return sweepChunk(deps, p, ctx, pboMax);
      case "sweep-rank":
        return sweepRank(deps, p, ctx, pboMax);
      case "wf-window":
        return walkForwardWindow(deps, p, ctx);
      case "wf-root":
        return walkForwardRoot(deps, p, ctx);
    }
  };
}

async function signalBacktest(deps: WorkerDeps, p: Extract<Payload, { mode: "signal" }>, ctx: JobContext): Promise<JobResult> {
  const { config, strategy, asset, features } = await loadStrategyInputs(deps.pool, p.signalId, p.asset, p.asOf);
  if (features.dates.length < 2) return { mode: "signal", skipped: `fewer than 2 feature rows for ${p.asset} up to ${p.asOf}` };
  const run = strategy.run(features);
  const feeBps = p.feeBps ?? DEFAULT_FEE_BPS;
  const bt = runBacktest({ open: features.open!, close: features.close!, dates: features.dates, actions: run.actions, feeBps, periodsPerYear: asset.periods_per_year });
  const featureHash = (await hashFromSignal(ctx.job, run)) ?? runFeatureHash(run);
  const { max_drawdown_peak_date, max_drawdown_trough_date, ...numeric } = bt.metrics;
  const runId = await saveBacktestRun(deps.pool, {
    jobId: ctx.job.id!,
    assetId: asset.asset_id,
    signalType: strategy.type,
    signalId: config.signal_id,
    params: strategy.params,
    paramsHash: paramsHash(strategy.params),
    featureVersionHash: featureHash,
    periodStart: features.dates[0]!,
    periodEnd: features.dates.at(-1)!,
    feeBps,
    slippageBps: 0,
    periodsPerYear: asset.periods_per_year,
    metrics: { ...numeric, max_drawdown_peak_date, max_drawdown_trough_date },
    openPosition: bt.openPosition,
    trades: bt.trades,
    dates: features.dates,
    equity: bt.equity,
  });
  return { mode: "signal", runIds: [runId], featureVersionHash: featureHash, sharpe: bt.metrics.sharpe, totalReturn: bt.metrics.total_return, trades: bt.metrics.trades };
}

/**
 * The feature version hash the signal job before this backtest (its child in the daily-refresh flow) reported
 * for features with the same bytes: formatting every value for the hash again was a tenth of a worker's CPU
 * on an incremental day. Without such a child, or when Redis cannot say, the hash is computed here.
 */
async function hashFromSignal(job: Job, run: StrategyRun): Promise<string | undefined> {
  const children = Object.values(await job.getChildrenValues().catch(() => ({}))) as Array<Partial<SignalResult> | null>;
  if (!children.some((c) => c?.featureDigest)) return undefined;
  const digest = runFeatureDigest(run);
  return children.find((c) => c?.featureDigest === digest && c.featureVersionHash)?.featureVersionHash;
}

async function sweepChunk(deps: WorkerDeps, p: Extract<Payload, { mode: "sweep-chunk" }>, ctx: JobContext, pboMax: number): Promise<JobResult> {
  const asset = await findAsset(deps.pool, p.asset);
  if (!asset) throw new PermanentError(`unknown asset ${p.asset}`);
  const bars = await loadBars(deps.pool, asset.asset_id, "9999-12-31");
  if (bars.dates.length < 2) throw new PermanentError(`${p.asset} has fewer than 2 bars`);
  // A sweep too large for its PBO needs no block summaries: neither computed nor stored (SR, g3, g4 still are: the DSR's).
  const size = await sweepSize(deps, p.sweepId, ctx.job);
  const blockSummaries = size === undefined || pboTooLarge(size, pboMax) === null;
  const rows = await deps.compute.run<object, SweepRow[]>(
    "sweepChunk",
    { open: bars.open, close: bars.close, dates: bars.dates, pairs: p.combos, feeBps: p.feeBps, periodsPerYear: asset.periods_per_year, pboBlocks: p.s ?? DEFAULT_PBO_BLOCKS, blockSummaries },
    ctx.signal,
  );
  await saveSweepResults(deps.pool, p.sweepId, rows);
  return { mode: "sweep-chunk", evaluated: rows.length };
}

/** Combinations per sweep id, from the ranking parent's grid (a few sweeps run at a time: kept small). */
const sweepSizes = new Map<string, number>();

/** The grid size of the sweep a chunk belongs to, read from its ranking parent's payload; undefined without one. */
async function sweepSize(deps: WorkerDeps, sweepId: string, job: JobContext["job"]): Promise<number | undefined> {
  const known = sweepSizes.get(sweepId);
  if (known !== undefined) return known;
  const parentId = job.parent?.id;
  if (!parentId) return undefined;
  const parent = await Job.fromId(deps.fleet.queue(backtestKind), parentId);
  const grid = (parent?.data as Partial<Extract<Payload, { mode: "sweep-rank" }>> | undefined)?.grid;
  if (!grid) return undefined;
  const n = gridSize(grid, -1);
  if (n < 0) return undefined;
  if (sweepSizes.size >= 64) sweepSizes.clear();
  sweepSizes.set(sweepId, n);
  return n;
}

/** The grid's fast < slow pairs (the evaluated count for a grid the counter refuses, which enqueueing never sends). */
function gridSize(grid: Extract<Payload, { mode: "sweep-rank" }>["grid"], fallback: number): number {
  try {
    return emaGridSize(grid.fast, grid.slow);
  } catch {
    return fallback;
  }
}

async function sweepRank(deps: WorkerDeps, p: Extract<Payload, { mode: "sweep-rank" }>, ctx: JobContext, pboMax: number): Promise<JobResult> {
  const asset = await findAsset(deps.pool, p.asset);
  if (!asset) throw new PermanentError(`unknown asset ${p.asset}`);
  const s = p.s ?? DEFAULT_PBO_BLOCKS;
  const chunks = await childOutcomes(ctx.job);
  const failed = chunks.filter((c) => !c.ok);
  const evaluated = chunks.reduce((n, c) => n + ((c.value as JobResult | undefined)?.evaluated ?? 0), 0);
  const top = await topSweepResults(deps.pool, p.sweepId, p.topN);
  const research = await researchOf(deps, { sweepId: p.sweepId, s, failedChunks: failed.length, chunks: chunks.length, size: gridSize(p.grid, evaluated), pboMax }, top, ctx.signal);
  const topWithPsr = top.map((r, i) => ({ ...r, psr: research.psr[i] ?? null }));
  await inTransaction(deps.pool, async (db) => {
    await recordSweep(db, { sweepId: p.sweepId, assetId: asset.asset_id, strategy: p.strategy, grid: p.grid, feeBps: p.feeBps, combos: evaluated, chunks: chunks.length, failedChunks: failed.length, top: topWithPsr });
    await saveSweepResearch(db, research.record);
  });
  return {
    mode: "sweep-rank",
    evaluated,
    failedChunks: failed.length,
    best: topWithPsr.map((r) => ({ fast: r.fast, slow: r.slow, sharpe: r.sharpe, totalReturn: r.total_return, psr: r.psr })),
    research: research.summary,
  };
}

interface Research {
  /** PSR(0) of each top row, in the top's order; empty when skipped. */
  psr: number[];
  record: SweepResearchRecord;
  summary: SweepResearchSummary;
}

interface ResearchOf {
  sweepId: string;
  s: number;
  failedChunks: number;
  chunks: number;
  /** N, the grid's combinations. */
  size: number;
  /** The PBO's size limit (pboTooLarge). */
  pboMax: number;
}

/**
 * DSR, PSR of the top and PBO over every combination's stored statistics, computed in a compute thread.
 * A grid with failed chunks is incomplete (its DSR would count fewer trials than were run), so it is skipped
 * like a grid too small for the statistics. A grid too large for the PBO (pboTooLarge: its chunks stored no
 * block summaries, so none are loaded) still gets its DSR, with the PBO's skip reason; the ranking itself
 * never fails over research.
 */
async function researchOf(deps: WorkerDeps, q: ResearchOf, top: SweepTopRow[], signal: AbortSignal): Promise<Research> {
  const { sweepId, s } = q;
  const skip = (reason: string): Research => ({ psr: [], record: { sweepId, s, skipped: reason }, summary: { skipped: reason, s } });
  if (q.failedChunks) return skip(`${q.failedChunks} of ${q.chunks} chunks failed: the grid is incomplete`);
  const st = await loadSweepStats(deps.pool, sweepId, s, pboTooLarge(q.size, q.pboMax) === null);
  if (st.missing) return skip(`${st.missing} combinations were stored without research statistics (before migration 033)`);
  if (st.t.length > 1) return skip(`combinations have different numbers of returns (${st.t.join(", ")}): the bars changed while the sweep ran`);
  const index = new Map(Array.from(st.fast, (f, i) => [`${f}/${st.slow[i]}`, i]));
  const input: SweepResearchInput = {
    t: st.t[0] ?? 0,
    s,
    sr: st.sr,
    g3: st.g3,
    g4: st.g4,
    blockMean: st.blockMean,
    blockM2: st.blockM2,
    psrOf: Int32Array.from(top, (r) => index.get(`${r.fast}/${r.slow}`)!),
    pboMaxCombinations: q.pboMax,
  };
  const r = await deps.compute.run<SweepResearchInput, SweepResearch>("sweepResearch", input, signal);
  if (r.skipped !== null) return skip(r.skipped);
  const best = { fast: st.fast[r.dsr.bestIndex]!, slow: st.slow[r.dsr.bestIndex]! };
  const head = { skipped: null, s, n: r.dsr.n, t: r.dsr.t, dsr: r.dsr.dsr, best };
  const record = { sweepId, s, skipped: null, dsr: r.dsr, bestFast: best.fast, bestSlow: best.slow };
  return r.pbo
    ? { psr: r.psr, record: { ...record, pbo: r.pbo, pboSkipped: null }, summary: { ...head, pbo: r.pbo.pbo, splits: r.pbo.splits, pboSkipped: null } }
    : { psr: r.psr, record: { ...record, pbo: null, pboSkipped: r.pboSkipped }, summary: { ...head, pbo: null, splits: null, pboSkipped: r.pboSkipped } };
}

/** One walk-forward window: the grid on its train range and the chosen combination on its test range. */
async function walkForwardWindow(deps: WorkerDeps, p: Extract<Payload, { mode: "wf-window" }>, ctx: JobContext): Promise<JobResult> {
  const asset = await findAsset(deps.pool, p.asset);
  if (!asset) throw new PermanentError(`unknown asset ${p.asset}`);
  const bars = await loadBars(deps.pool, asset.asset_id, "9999-12-31");
  const testStart = p.train + p.k * p.test;
  const n = bars.dates.length;
  // The window was planned over the bars at enqueue time; fewer bars now means they were replaced.
  if (!(p.testEnd > testStart && p.testEnd < n)) throw new PermanentError(`testEnd: window ${p.k} (bars ${testStart}..${p.testEnd}) does not fit ${p.asset}'s ${n} bars (got ${p.testEnd})`);
  const input: WindowInput = {
    open: bars.open,
    close: bars.close,
    dates: bars.dates,
    pairs: emaGridPairs(p.grid.fast, p.grid.slow),
    window: { k: p.k, trainStart: testStart - p.train, trainEnd: testStart - 1, testStart, testEnd: p.testEnd },
    feeBps: p.feeBps,
    periodsPerYear: asset.periods_per_year,
  };
  const w = await deps.compute.run<WindowInput, WindowResult>("walkForwardWindow", input, ctx.signal);
  await saveWalkForwardWindow(deps.pool, p.walkForwardId, w);
  return { mode: "wf-window", k: w.k, fast: w.fast, slow: w.slow, isSharpe: w.isSharpe, oosSharpe: w.oosSharpe };
}

/**
 * Fan-in: every window is stored (required edges); stitches their OOS returns, finds the full-period best
 * over the stitched curve's bars (the grid chosen with hindsight on that range, in a compute thread) and
 * records the walk-forward.
 */
async function walkForwardRoot(deps: WorkerDeps, p: Extract<Payload, { mode: "wf-root" }>, ctx: JobContext): Promise<JobResult> {
  const asset = await findAsset(deps.pool, p.asset);
  if (!asset) throw new PermanentError(`unknown asset ${p.asset}`);
  const windows = await loadWalkForwardWindows(deps.pool, p.walkForwardId);
  if (windows.length !== p.windows) throw new Error(`windows: ${windows.length} stored for ${p.walkForwardId}, expected ${p.windows}`);
  const { open, close, dates } = await loadBars(deps.pool, asset.asset_id, "9999-12-31");
  // The curve is labelled with the bars' dates; windows computed over other bars would be mislabelled.
  for (const w of windows) {
    if (dates[w.testStart] !== w.testStartDate || dates[w.testEnd] !== w.testEndDate) {
      throw new PermanentError(`window ${w.k}: test bars ${w.testStart}..${w.testEnd} were ${w.testStartDate}..${w.testEndDate}, now ${dates[w.testStart] ?? "missing"}..${dates[w.testEnd] ?? "missing"}: the bars changed`);
    }
  }
  const st = stitch(windows, dates, asset.periods_per_year);
  const best = await deps.compute.run<HindsightInput, HindsightBest>(
    "walkForwardBest",
    { open, close, dates, pairs: emaGridPairs(p.grid.fast, p.grid.slow), start: windows[0]!.testStart, end: windows.at(-1)!.testEnd, feeBps: p.feeBps, periodsPerYear: asset.periods_per_year },
    ctx.signal,
  );
  await recordWalkForward(deps.pool, {
    walkForwardId: p.walkForwardId,
    assetId: asset.asset_id,
    strategy: p.strategy,
    grid: p.grid,
    train: p.train,
    test: p.test,
    feeBps: p.feeBps,
    windows: windows.length,
    metrics: st.metrics,
    meanIsSharpe: st.meanIsSharpe,
    meanOosSharpe: st.meanOosSharpe,
    wfe: st.wfe,
    curveDates: st.dates,
    curveEquity: st.equity,
    best,
  });
  return { mode: "wf-root", windows: windows.length, sharpe: st.metrics.sharpe, totalReturn: st.metrics.total_return, wfe: st.wfe };
}
