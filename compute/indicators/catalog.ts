// The indicators of the feature store, in column order. A new indicator is its declaration (indicator.ts) plus
// one line here; the migration adding its columns to its stage table and to daily_features is the only
// other change.
import { ADX } from "./adx.ts";
import { ATR } from "./atr.ts";
import { BOLLINGER } from "./bollinger.ts";
import { EMA } from "./ema.ts";
import type { ComputeOptions, IndicatorStage, Ohlc } from "./indicator.ts";
import { MACD } from "./macd.ts";
import { RETURNS } from "./returns.ts";
import { RSI } from "./rsi.ts";
import { STOCHASTIC } from "./stochastic.ts";
import { RANGE_VOLATILITY } from "./volatility.ts";

export const INDICATORS = Object.freeze([EMA, RETURNS, RANGE_VOLATILITY, ATR, RSI, MACD, STOCHASTIC, BOLLINGER, ADX] as const);

export type FeatureColumn = (typeof INDICATORS)[number]["columns"][number];
export type FeatureColumns = Record<FeatureColumn, Float64Array>;

export const FEATURE_COLUMNS: readonly FeatureColumn[] = Object.freeze(INDICATORS.flatMap((i) => i.columns));

export const indicatorsOf = (stage: IndicatorStage) => INDICATORS.filter((i) => i.stage === stage);

export const stageColumns = (stage: IndicatorStage): readonly FeatureColumn[] => indicatorsOf(stage).flatMap((i) => i.columns);

/** Every declared column over one asset's daily bars (pure, synchronous; what the stage jobs store, in one call). */
export function computeAllIndicators(bars: Ohlc, opts: ComputeOptions): FeatureColumns {
  const n = bars.close.length;
  if (bars.open.length !== n || bars.high.length !== n || bars.low.length !== n) {
    throw new RangeError("computeAllIndicators: OHLC columns have different lengths");
  }
  return Object.assign({}, ...INDICATORS.map((i) => i.compute(bars, opts))) as FeatureColumns;
}
