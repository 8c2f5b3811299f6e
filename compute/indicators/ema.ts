/**
 * Exponential moving average (TA-Lib convention) and its derivative columns.
 *
 * Seeding: α = 2/(N+1); the first value is the simple mean of the first N *defined* inputs, placed at the
 * index of the N-th of them (index N−1 for a clean series). Seeding with the SMA rather than with x[0] makes
 * the value independent of how much history precedes the window and matches TA-Lib and `technicalindicators`,
 * which the research side uses to check us.
 *
 * Leading NaNs: the seed is the first run of N consecutive defined values, so an EMA over a series that itself
 * has a warm-up (MACD line → signal line) starts exactly where the input becomes usable. A NaN met *after*
 * seeding yields NaN at that bar and leaves the state untouched (the next defined value continues from the
 * last EMA); a NaN inside an unfinished seed window restarts the seed.
 *
 * Derivative columns of the EMA tables (`ema, d1, d2, d1_close, d2_close, roll`). The seed names the columns
 * only; we define them so that every one is a *backward* difference, computable at bar t with data up to t
 * (no look-ahead, so features at t can feed a signal at t):
 *   d1[t]       = ema[t] − ema[t−1]                 slope of the EMA (trend speed)
 *   d2[t]       = d1[t] − d1[t−1]                   curvature (trend acceleration)
 *   d1_close[t] = close[t] − ema[t]                 distance of price from its EMA (mean-reversion gap);
 *                                                   a level, not a difference, kept in price units so it
 *                                                   compares directly with ATR
 *   d2_close[t] = d1_close[t] − d1_close[t−1]       how fast that gap opens or closes
 * Each is NaN until all its inputs are defined (d1 one bar after the EMA's first value, d2 two bars after).
 * `roll` (preview vs canonical bar) belongs to the multi-timeframe helpers in timeframe.ts.
 */
import { defineIndicator } from "./indicator.ts";

export type NumericSeries = ArrayLike<number>;

/** EMA of `values` with period `period` (see file header for seeding and NaN rules). */
export function ema(values: NumericSeries, period: number): Float64Array {
  const out = new Float64Array(values.length);
  emaInto(values, period, out);
  return out;
}

/**
 * Same as {@link ema} but writes into `out` (length ≥ values.length); lets callers reuse buffers.
 * Returns the index of the first defined output, or −1 when the input never has N consecutive defined values.
 */
export function emaInto(values: NumericSeries, period: number, out: Float64Array): number {
  if (!Number.isInteger(period) || period < 1) throw new RangeError(`ema: period must be a positive integer, got ${period}`);
  const n = values.length;
  const alpha = 2 / (period + 1);
  let t = 0;
  // Seeding phase: accumulate a run of `period` defined values.
  let run = 0;
  let sum = 0;
  for (; t < n; t++) {
    const x = values[t];
    if (x !== x) {
      run = 0;
      sum = 0;
      out[t] = NaN;
      continue;
    }
    sum += x;
    run++;
    if (run === period) break;
    out[t] = NaN;
  }
  if (t >= n) return -1;
  let prev = sum / period;
  out[t] = prev;
  const first = t;
  // prev = β·prev + α·x: α·x does not depend on prev, so the loop-carried chain is one mul + one add
  // (vs sub, mul, add for prev + α·(x − prev)); same value up to rounding.
  const beta = 1 - alpha;
  for (t++; t < n; t++) {
    const x = values[t];
    if (x !== x) {
      out[t] = NaN;
      continue;
    }
    prev = beta * prev + alpha * x;
    out[t] = prev;
  }
  return first;
}

export interface EmaDerivatives {
  d1: Float64Array;
  d2: Float64Array;
  d1_close: Float64Array;
  d2_close: Float64Array;
}

/** Backward-difference columns of an EMA series (definitions in the file header). NaN propagates. */
export function emaDerivatives(close: NumericSeries, emaSeries: NumericSeries): EmaDerivatives {
  const n = emaSeries.length;
  if (close.length !== n) throw new RangeError("emaDerivatives: close and ema lengths differ");
  const d1 = new Float64Array(n);
  const d2 = new Float64Array(n);
  const d1c = new Float64Array(n);
  const d2c = new Float64Array(n);
  if (n === 0) return { d1, d2, d1_close: d1c, d2_close: d2c };
  d1[0] = NaN;
  d2[0] = NaN;
  d2c[0] = NaN;
  let prevE = emaSeries[0];
  let prevD1 = NaN;
  let prevGap = close[0] - prevE;
  d1c[0] = prevGap;
  for (let t = 1; t < n; t++) {
    const e = emaSeries[t];
    const s = e - prevE; // NaN − anything = NaN, so warm-up propagates without branches
    d1[t] = s;
    d2[t] = s - prevD1;
    const gap = close[t] - e;
    d1c[t] = gap;
    d2c[t] = gap - prevGap;
    prevE = e;
    prevD1 = s;
    prevGap = gap;
  }
  return { d1, d2, d1_close: d1c, d2_close: d2c };
}

/** Periods the ema stage maintains (ema_daily rows, every timeframe) and the feature store carries as ema_<N>. */
export const EMA_PERIODS = Object.freeze([5, 9, 10, 21, 50, 100, 200] as const);

type EmaColumn = `ema_${(typeof EMA_PERIODS)[number]}`;

export const EMA = defineIndicator({
  name: "ema",
  stage: "ema",
  columns: EMA_PERIODS.map((p): EmaColumn => `ema_${p}`),
  lookback: Math.max(...EMA_PERIODS),
  compute: ({ close }) => Object.fromEntries(EMA_PERIODS.map((p) => [`ema_${p}`, ema(close, p)])) as Record<EmaColumn, Float64Array>,
});
