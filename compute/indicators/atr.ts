/**
 * True range and Wilder's ATR.
 * TR[0] is NaN: without a previous close the first bar's range would understate gaps, and TA-Lib /
 * `technicalindicators` also start at bar 1. TR[t] = max(H−L, |H−C[t−1]|, |L−C[t−1]|).
 * ATR(p) at bar p = mean(TR[1..p]) (first defined value at index p), then Wilder smoothing
 * ATR[t] = (ATR[t−1]·(p−1) + TR[t]) / p.
 */
import { defineIndicator } from "./indicator.ts";

export function trueRange(high: ArrayLike<number>, low: ArrayLike<number>, close: ArrayLike<number>): Float64Array {
  const n = high.length;
  const out = new Float64Array(n);
  if (n === 0) return out;
  out[0] = NaN;
  let pc = close[0];
  for (let t = 1; t < n; t++) {
    const h = high[t];
    const l = low[t];
    let tr = h - l;
    const a = h > pc ? h - pc : pc - h;
    const b = l > pc ? l - pc : pc - l;
    if (a > tr) tr = a;
    if (b > tr) tr = b;
    out[t] = tr;
    pc = close[t];
  }
  return out;
}

/** Wilder ATR of a precomputed true-range series (TR[0] ignored). */
export function atrFromTrueRange(tr: ArrayLike<number>, period = 14): Float64Array {
  if (!Number.isInteger(period) || period < 1) throw new RangeError(`atr: period must be a positive integer, got ${period}`);
  const n = tr.length;
  const out = new Float64Array(n);
  const last = period < n ? period : n;
  let sum = 0;
  for (let t = 0; t < last; t++) {
    if (t > 0) sum += tr[t];
    out[t] = NaN;
  }
  if (n <= period) return out;
  let a = (sum + tr[period]) / period;
  out[period] = a;
  const pm1 = period - 1;
  for (let t = period + 1; t < n; t++) {
    a = (a * pm1 + tr[t]) / period;
    out[t] = a;
  }
  return out;
}

export function atr(high: ArrayLike<number>, low: ArrayLike<number>, close: ArrayLike<number>, period = 14): Float64Array {
  return atrFromTrueRange(trueRange(high, low, close), period);
}

export const ATR = defineIndicator({
  name: "atr",
  stage: "volatility",
  columns: ["atr_14"],
  lookback: 14,
  compute: ({ high, low, close }) => ({ atr_14: atr(high, low, close, 14) }),
});
