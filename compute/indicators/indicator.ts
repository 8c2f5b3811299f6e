// What declaring an indicator means. The list in catalog.ts is the only other place that names it: the
// feature-store columns, the stage tables' columns, each stage's refresh lookback, computeAllIndicators and
// the benchmark's indicator list are all derived from the declarations.

export interface Ohlc {
  open: ArrayLike<number>;
  high: ArrayLike<number>;
  low: ArrayLike<number>;
  close: ArrayLike<number>;
}

export interface ComputeOptions {
  /** annualisation factor for the rolling vols: 365 for 24/7 crypto, 252 for equities */
  periodsPerYear: number;
}

/**
 * The stage job that computes an indicator, and so the table it is stored in. `ema` is the EMA's own stage
 * (one row per period with its derivatives, plus the multi-timeframe EMAs); the others are wide tables with
 * one column per declared column. Only the volatility job knows the asset's periodsPerYear.
 */
export type IndicatorStage = "ema" | "returns" | "volatility" | "ta";

export interface Indicator<C extends string = string> {
  /** Also the key of its reference implementation in bench/features-compute.ts, if it has one. */
  readonly name: string;
  readonly stage: IndicatorStage;
  /** Output columns, in table order. */
  readonly columns: readonly C[];
  /**
   * Warm-up in bars, as its parameters state it (EMA N → N, MACD 12/26/9 → 26 + 9 − 1): an incremental
   * refresh rewrites this many bars before the watermark, so a revised recent bar reaches every value it feeds.
   */
  readonly lookback: number;
  /** Every column over the full history, each a Float64Array of the bar count with a NaN warm-up. */
  readonly compute: (bars: Ohlc, opts: ComputeOptions) => Record<C, Float64Array>;
}

export function defineIndicator<const C extends string>(d: Indicator<C>): Indicator<C> {
  return Object.freeze({ ...d, columns: Object.freeze([...d.columns]) });
}
