// Stage jobs: load an asset's bars, compute in a thread, write the dirty window as idempotent upserts,
// advance the watermark. Each stage is its own job in the daily-refresh flow.
import { findAsset, type Asset } from "../../db/repos/assets.ts";
import { upsertColumns } from "../../db/repos/columns.ts";
import { getWatermark, setWatermark } from "../../db/repos/feature-state.ts";
import { loadFeatureInputs } from "../../db/repos/feature-store.ts";
import { DAILY_FEATURES, EMA_DAILY, EMA_MULTI_TF, STAGE_TABLES } from "../../db/repos/feature-tables.ts";
import { loadBars, type Bars } from "../../db/repos/prices.ts";
import { inTransaction } from "../../db/pool.ts";
import type { PayloadOf } from "../../queues/kind.ts";
import type { StageResult } from "../../queues/kinds/stage.ts";
import type { stageKind } from "../../queues/registry.ts";
import type { ComputePool } from "../threads/pool.ts";
import type { StageComputeInput } from "../../compute/tasks.ts";
import type { WorkerDeps } from "../deps.ts";
import { PermanentError } from "../errors.ts";
import type { JobContext, Processor } from "../runtime.ts";
import { TIMEFRAMES } from "../../compute/indicators/timeframe.ts";
import { STAGE_LOOKBACK, type Columns, type EmaStageOutput } from "../../compute/indicators/stages.ts";
import { runQuality } from "./quality/run.ts";
import { stackColumns, windowColumns, windowStart } from "./window.ts";

export interface StageDeps extends WorkerDeps {
  compute: ComputePool;
  emaTimeframes: readonly string[];
}

type Payload = PayloadOf<typeof stageKind>;
type Ctx = { deps: StageDeps; p: Payload; job: JobContext; asset: Asset; bars: Bars };

const skipped = (p: Payload, why: string): StageResult => ({ stage: p.stage, asset: p.asset, rowsWritten: 0, details: { skipped: why } });

export function stageProcessor(deps: StageDeps): Processor<typeof stageKind> {
  const unknown = deps.emaTimeframes.filter((tf) => !TIMEFRAMES.some((r) => r.tf_label === tf));
  if (unknown.length) throw new Error(`EMA_TIMEFRAMES: not in dim_timeframe: ${unknown.join(", ")}`);
  return async (p, job) => {
    const asset = await findAsset(deps.pool, p.asset);
    if (!asset) throw new PermanentError(`unknown asset ${p.asset}: import its prices first (npm run import)`);
    const bars = await loadBars(deps.pool, asset.asset_id, p.asOf);
    if (!bars.dates.length) return skipped(p, `no bars for ${p.asset} up to ${p.asOf}`);
    const c: Ctx = { deps, p, job, asset, bars };
    const span = { lastBar: bars.dates.at(-1), bars: bars.dates.length };
    if (p.stage === "quality") {
      const q = await runQuality(c);
      return { stage: p.stage, asset: p.asset, rowsWritten: q.rowsWritten, details: { ...span, ...q.details } };
    }
    return { stage: p.stage, asset: p.asset, rowsWritten: await refresh(c), details: span };
  };
}

const compute = <T>(c: Ctx, input: StageComputeInput) => c.deps.compute.run<StageComputeInput, T>("stageCompute", input, c.job.signal);

async function refresh(c: Ctx): Promise<number> {
  const { p, asset, bars, deps } = c;
  const stage = p.stage as Exclude<Payload["stage"], "quality">;
  const from = windowStart(bars.dates, await getWatermark(deps.pool, asset.asset_id, stage), STAGE_LOOKBACK[stage], p.full ?? false);
  const sb = { dates: bars.dates, open: bars.open, high: bars.high, low: bars.low, close: bars.close };
  let written: number;
  switch (stage) {
    case "ema": {
      const out = await compute<EmaStageOutput>(c, { stage, bars: sb, timeframes: [...deps.emaTimeframes], session: asset.session_type });
      const daily = stackColumns(out.daily.map((d) => ({ keys: { period: d.period }, cols: d.cols })), asset.asset_id, bars.dates, from);
      const multi = stackColumns(out.multiTf.map((d) => ({ keys: { tf: d.tf, period: d.period }, cols: d.cols })), asset.asset_id, bars.dates, from);
      written = await inTransaction(deps.pool, async (db) => (await upsertColumns(db, EMA_DAILY, daily.data, daily.rows)) + (await upsertColumns(db, EMA_MULTI_TF, multi.data, multi.rows)));
      break;
    }
    case "returns":
    case "volatility":
    case "ta": {
      const input: StageComputeInput = stage === "volatility" ? { stage, bars: sb, periodsPerYear: asset.periods_per_year } : { stage, bars: sb };
      const cols = await compute<Columns>(c, input);
      const w = windowColumns(asset.asset_id, bars.dates, cols, from);
      written = await upsertColumns(deps.pool, STAGE_TABLES[stage], w.data, w.rows);
      break;
    }
    case "features": {
      const inputs = await loadFeatureInputs(deps.pool, asset.asset_id, p.asOf);
      const extras = await compute<Columns>(c, { stage, cols: inputs as never });
      const { dates, ...cols } = inputs;
      const w = windowColumns(asset.asset_id, dates, { ...cols, ...extras }, from);
      w.data.asset_class = new Array(w.rows).fill(asset.asset_class);
      written = await upsertColumns(deps.pool, DAILY_FEATURES, w.data, w.rows);
      break;
    }
  }
  await setWatermark(deps.pool, asset.asset_id, stage, bars.dates.at(-1)!, written);
  return written;
}
