// Stage jobs: load an asset's bars (shared by its stages: db/repos/read-cache.ts), compute in a thread, send
// the rows that may have changed (window.ts) as idempotent upserts (a first run's rows by COPY), advance the
// watermark with the inputs' fingerprint. Each stage is its own job in the daily-refresh flow.
import { findAsset, type Asset } from "../../db/repos/assets.ts";
import { insertNewColumns, upsertColumns, type ColumnData, type TableSpec } from "../../db/repos/columns.ts";
import { getStageState, setWatermark } from "../../db/repos/feature-state.ts";
import { loadFeatureInputs } from "../../db/repos/feature-store.ts";
import { DAILY_FEATURES, EMA_DAILY, EMA_MULTI_TF, STAGE_TABLES } from "../../db/repos/feature-tables.ts";
import { cachedBars, type Bars } from "../../db/repos/prices.ts";
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
import { FEATURE_EXTRA_SOURCES, STAGE_LOOKBACK, STAGE_REVISES, type Columns, type EmaStageOutput } from "../../compute/indicators/stages.ts";
import { runQuality } from "./quality/run.ts";
import { fingerprint } from "./fingerprint.ts";
import { planWrite, rowsToWrite, stackColumns, windowColumns, type WritePlan } from "./window.ts";

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
    const bars = await cachedBars(deps.pool, asset, p.asOf);
    if (!bars.dates.length) return skipped(p, `no bars for ${p.asset} up to ${p.asOf}`);
    const span = { lastBar: bars.dates.at(-1), bars: bars.dates.length };
    if (p.stage === "quality") {
      const q = await runQuality({ deps, p, job, asset, dates: bars.dates });
      return { stage: p.stage, asset: p.asset, rowsWritten: q.rowsWritten, details: { ...span, ...q.details } };
    }
    const r = await refresh({ deps, p, job, asset, bars });
    return { stage: p.stage, asset: p.asset, rowsWritten: r.written, details: { ...span, rowsSent: r.sent, ...r.plan } };
  };
}

const compute = <T>(c: Ctx, input: StageComputeInput & { from?: number }) => c.deps.compute.run<StageComputeInput, T>("stageCompute", input, c.job.signal);

/** The input over its first n bars (its settings kept). */
function prefixOf(input: StageComputeInput, n: number): StageComputeInput {
  const cut = <O extends object>(o: O) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, (v as Float64Array | string[]).slice(0, n)])) as unknown as O;
  return "bars" in input ? ({ ...input, bars: cut(input.bars) } as StageComputeInput) : { ...input, cols: cut(input.cols) };
}

/**
 * The settings of a compute input (everything but its bars), part of the inputs' fingerprint. The empty
 * `extra` is in the fingerprints already stored; kept, they still match.
 */
const settingsOf = (input: StageComputeInput) => JSON.stringify({ ...input, bars: undefined, extra: "" });

interface Refreshed {
  written: number;
  sent: number;
  plan: WritePlan;
}

async function refresh(c: Ctx): Promise<Refreshed> {
  const { p, asset, bars, deps } = c;
  const stage = p.stage as Exclude<Payload["stage"], "quality">;
  const ohlc = { open: bars.open, high: bars.high, low: bars.low, close: bars.close };
  const { dates } = bars;
  const n = dates.length;
  const input: Exclude<StageComputeInput, { stage: "features" }> | undefined =
    stage === "ema" ? { stage, bars: { dates, ...ohlc }, timeframes: [...deps.emaTimeframes], session: asset.session_type }
    : stage === "volatility" ? { stage, bars: ohlc, periodsPerYear: asset.periods_per_year }
    : stage === "features" ? undefined
    : { stage, bars: ohlc };
  // The features stage's inputs are the upstream stages' rows joined with the bars; those rows are functions
  // of the bars up to their day (STAGE_REVISES 0; ema_daily likewise) and of the settings named here, so the
  // bars (volume too: the feature store keeps it) fingerprint them without reading the joined history.
  const settings = input ? settingsOf(input) : JSON.stringify({ stage, fingerprinted: "bars", assetClass: asset.asset_class, periodsPerYear: asset.periods_per_year });
  const valueCols = stage === "features" ? [bars.open, bars.high, bars.low, bars.close, bars.volume] : [bars.open, bars.high, bars.low, bars.close];
  const hashOf = (k: number) => fingerprint(k, dates, valueCols, settings);
  const state = await getStageState(deps.pool, asset.asset_id, stage);
  const plan = planWrite(dates, state, STAGE_LOOKBACK[stage], p.full ?? false, hashOf);
  // A stage's first run inserts new rows by COPY, which needs a transaction (its savepoint), as do the ema
  // stage's two tables; one upsert of a day's rows is a statement of its own, without BEGIN and COMMIT.
  const write = async (w: Array<{ spec: TableSpec; data: ColumnData; rows: number }>) => {
    if (state && w.length === 1) return upsertColumns(deps.pool, w[0]!.spec, w[0]!.data, w[0]!.rows);
    return inTransaction(deps.pool, async (tx) => {
      let n = 0;
      for (const t of w) n += await (state ? upsertColumns : insertNewColumns)(tx, t.spec, t.data, t.rows);
      return n;
    });
  };
  const inputHash = hashOf(n);
  if ("prevN" in plan && plan.prevN === n) {
    await setWatermark(deps.pool, asset.asset_id, stage, dates.at(-1)!, 0, undefined, inputHash);
    return { written: 0, sent: 0, plan };
  }
  // A stage that declares how far back a new bar reaches (STAGE_REVISES) is computed once and sends its rows
  // from there; the others are also computed over the stored bars, to find the earlier rows that change.
  const revises = STAGE_REVISES[stage];
  const send: WritePlan = "prevN" in plan && revises !== undefined ? { from: Math.max(0, plan.prevN - revises) } : plan;
  let written: number;
  let sent: number;
  switch (stage) {
    case "ema": {
      // Computed once (STAGE_REVISES), and only the rows sent (from `tail` on) come back from the compute
      // thread (its 35 series over the whole history were most of the job).
      const tail = "from" in send ? send.from : 0;
      const out = await compute<EmaStageOutput>(c, { ...input!, from: tail });
      const rows = Int32Array.from({ length: n - tail }, (_, i) => i);
      const tailDates = dates.slice(tail);
      const daily = stackColumns(out.daily.map((d) => ({ keys: { period: d.period }, cols: d.cols, rows })), asset.asset_id, tailDates);
      const multi = stackColumns(out.multiTf.map((d) => ({ keys: { tf: d.tf, period: d.period }, cols: d.cols, rows })), asset.asset_id, tailDates);
      sent = daily.rows + multi.rows;
      written = await write([{ spec: EMA_DAILY, ...daily }, { spec: EMA_MULTI_TF, ...multi }]);
      break;
    }
    case "returns":
    case "volatility":
    case "ta": {
      const s = await sentColumns(c, input!, send, n);
      const w = windowColumns(asset.asset_id, dates.slice(s.base), s.cols, s.rows);
      sent = w.rows;
      written = await write([{ spec: STAGE_TABLES[stage], ...w }]);
      break;
    }
    case "features": {
      // The extras' sources over the whole history (IQR flags are whole-history definitions), the other
      // inputs on the days sent only; when every day is sent (first run, full), one read of all serves both.
      const all = "from" in send && send.from === 0 ? await loadFeatureInputs(deps.pool, asset.asset_id, p.asOf) : undefined;
      const sources = all ?? (await loadFeatureInputs(deps.pool, asset.asset_id, p.asOf, { columns: FEATURE_EXTRA_SOURCES }));
      sameDays("the extras' sources", sources.dates, dates);
      const s = await sentColumns(c, { stage, cols: Object.fromEntries(FEATURE_EXTRA_SOURCES.map((k) => [k, sources[k]!])) as never }, send, n);
      const days = Array.from(s.rows, (r) => dates[s.base + r]!);
      const { dates: inputDates, ...inputs } = all ?? (await loadFeatureInputs(deps.pool, asset.asset_id, p.asOf, { days }));
      sameDays("the inputs", inputDates, days);
      const extras = Object.fromEntries(Object.entries(s.cols).map(([k, v]) => [k, Array.from(s.rows, (r) => v[r]!)]));
      const w = windowColumns(asset.asset_id, days, { ...inputs, ...extras }, Int32Array.from(days, (_, i) => i));
      w.data.asset_class = new Array(w.rows).fill(asset.asset_class);
      sent = w.rows;
      written = await write([{ spec: DAILY_FEATURES, ...w }]);
      break;
    }
  }
  await setWatermark(deps.pool, asset.asset_id, stage, dates.at(-1)!, written, undefined, inputHash);
  return { written, sent, plan };
}

/** A read's days must be the job's (an import in between would misalign them: the job is retried). */
function sameDays(what: string, got: readonly string[], want: readonly string[]): void {
  if (got.length !== want.length || got[0] !== want[0] || got.at(-1) !== want.at(-1)) {
    throw new Error(`features: ${what} span ${got.length} days (${got[0]} … ${got.at(-1)}), the job's bars ${want.length} (${want[0]} … ${want.at(-1)}): prices changed during the job`);
  }
}

/**
 * A stage's columns for the rows the plan sends, as rows of `cols` whose row 0 is bar `base`: from `from` on,
 * only those rows computed back; over stored bars, the whole history and the rows that differ from the
 * computation over those bars.
 */
async function sentColumns(c: Ctx, input: StageComputeInput, send: WritePlan, n: number): Promise<{ cols: Columns; rows: Int32Array; base: number }> {
  if ("from" in send) return { cols: await compute<Columns>(c, { ...input, from: send.from }), rows: Int32Array.from({ length: n - send.from }, (_, i) => i), base: send.from };
  const [cols, prev] = await Promise.all([compute<Columns>(c, input), compute<Columns>(c, prefixOf(input, send.prevN))]);
  return { cols, rows: rowsToWrite(send, n, cols, prev), base: 0 };
}
