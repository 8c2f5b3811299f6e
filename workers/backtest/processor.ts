// Backtest jobs: a configured strategy's backtest in the daily-refresh flow, and the chunks and ranking
// of parameter sweeps. The engine is pure; this file loads, runs and stores.
import { findAsset } from "../../db/repos/assets.ts";
import { saveBacktestRun } from "../../db/repos/backtests.ts";
import { loadBars } from "../../db/repos/prices.ts";
import { recordSweep, saveSweepResults, topSweepResults } from "../../db/repos/sweeps.ts";
import type { SweepRow } from "../../compute/backtest/sweep.ts";
import type { PayloadOf } from "../../queues/kind.ts";
import type { BacktestResult as JobResult } from "../../queues/kinds/backtest.ts";
import type { backtestKind } from "../../queues/registry.ts";
import type { WorkerDeps } from "../deps.ts";
import { PermanentError } from "../errors.ts";
import { childOutcomes } from "../flow/children.ts";
import type { JobContext, Processor } from "../runtime.ts";
import { loadStrategyInputs } from "../signal/load.ts";
import { runFeatureHash } from "../../compute/signals/strategy.ts";
import { runBacktest } from "../../compute/backtest/engine.ts";
import { paramsHash } from "../../compute/backtest/hash.ts";

type Payload = PayloadOf<typeof backtestKind>;
const DEFAULT_FEE_BPS = 10;

export function backtestProcessor(deps: WorkerDeps): Processor<typeof backtestKind> {
  return async (p, ctx) => {
    switch (p.mode) {
      case "signal":
        return signalBacktest(deps, p, ctx);
      case "sweep-chunk":
        return sweepChunk(deps, p, ctx);
      case "sweep-rank":
        return sweepRank(deps, p, ctx);
    }
  };
}

async function signalBacktest(deps: WorkerDeps, p: Extract<Payload, { mode: "signal" }>, ctx: JobContext): Promise<JobResult> {
  const { config, strategy, asset, features } = await loadStrategyInputs(deps.pool, p.signalId, p.asset, p.asOf);
  if (features.dates.length < 2) return { mode: "signal", skipped: `fewer than 2 feature rows for ${p.asset} up to ${p.asOf}` };
  const run = strategy.run(features);
  const feeBps = p.feeBps ?? DEFAULT_FEE_BPS;
  const bt = runBacktest({ open: features.open!, close: features.close!, dates: features.dates, actions: run.actions, feeBps, periodsPerYear: asset.periods_per_year });
  const featureHash = runFeatureHash(run);
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

async function sweepChunk(deps: WorkerDeps, p: Extract<Payload, { mode: "sweep-chunk" }>, ctx: JobContext): Promise<JobResult> {
  const asset = await findAsset(deps.pool, p.asset);
  if (!asset) throw new PermanentError(`unknown asset ${p.asset}`);
  const bars = await loadBars(deps.pool, asset.asset_id, "9999-12-31");
  if (bars.dates.length < 2) throw new PermanentError(`${p.asset} has fewer than 2 bars`);
  const rows = await deps.compute.run<object, SweepRow[]>(
    "sweepChunk",
    { open: bars.open, close: bars.close, dates: bars.dates, pairs: p.combos, feeBps: p.feeBps, periodsPerYear: asset.periods_per_year },
    ctx.signal,
  );
  await saveSweepResults(deps.pool, p.sweepId, rows);
  return { mode: "sweep-chunk", evaluated: rows.length };
}

async function sweepRank(deps: WorkerDeps, p: Extract<Payload, { mode: "sweep-rank" }>, ctx: JobContext): Promise<JobResult> {
  const asset = await findAsset(deps.pool, p.asset);
  if (!asset) throw new PermanentError(`unknown asset ${p.asset}`);
  const chunks = await childOutcomes(ctx.job);
  const failed = chunks.filter((c) => !c.ok);
  const evaluated = chunks.reduce((n, c) => n + ((c.value as JobResult | undefined)?.evaluated ?? 0), 0);
  const top = await topSweepResults(deps.pool, p.sweepId, p.topN);
  await recordSweep(deps.pool, { sweepId: p.sweepId, assetId: asset.asset_id, strategy: p.strategy, grid: p.grid, feeBps: p.feeBps, combos: evaluated, chunks: chunks.length, failedChunks: failed.length, top });
  return {
    mode: "sweep-rank",
    evaluated,
    failedChunks: failed.length,
    best: top.map((r) => ({ fast: r.fast, slow: r.slow, sharpe: r.sharpe, totalReturn: r.total_return })),
  };
}
