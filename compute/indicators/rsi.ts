/**
 * Wilder RSI, TA-Lib convention.
 * Changes Δ[t] = C[t] − C[t−1] from bar 1. Seed at bar p: avgGain/avgLoss = simple means of the gains/losses
 * of changes 1..p (first defined value at index p). Then Wilder smoothing avg = (avg·(p−1) + x)/p.
 * RSI = 100·avgGain/(avgGain + avgLoss) — algebraically 100 − 100/(1+RS) but defined when avgLoss = 0
 * (→ 100, a pure up-trend). When both averages are 0 (a perfectly flat window) we follow TA-Lib and return
 * 0 rather than 50 or NaN, so the feature store has no holes and ports of TA-Lib code agree with us. (TA-Lib
 * tests the sum against a 1e-8 epsilon; we test exact zero so low-priced instruments are not clamped.)
 * `technicalindicators` differs: it rounds RSI to 2 decimals and returns 100 on a flat window.
 */
import { defineIndicator } from "./indicator.ts";

export function rsi(close: ArrayLike<number>, period = 14): Float64Array {
  if (!Number.isInteger(period) || period < 1) throw new RangeError(`rsi: period must be a positive integer, got ${period}`);
  const n = close.length;
  const out = new Float64Array(n);
  const last = period < n ? period : n;
  let g = 0;
  let l = 0;
  for (let t = 0; t < last; t++) {
    out[t] = NaN;
    if (t > 0) {
      const d = close[t] - close[t - 1];
      if (d > 0) g += d;
      else l -= d;
    }
  }
  if (n <= period) return out;
  {
    const d = close[period] - close[period - 1];
    if (d > 0) g += d;
    else l -= d;
  }
  g /= period;
  l /= period;
  let s = g + l;
  out[period] = s !== 0 ? (100 * g) / s : 0;
  const pm1 = period - 1;
  for (let t = period + 1; t < n; t++) {
    const d = close[t] - close[t - 1];
    if (d > 0) {
      g = (g * pm1 + d) / period;
      l = (l * pm1) / period;
    } else {
      g = (g * pm1) / period;
      l = (l * pm1 - d) / period;
    }
    s = g + l;
    out[t] = s !== 0 ? (100 * g) / s : 0;
  }
  return out;
}

export const RSI = defineIndicator({
  name: "rsi",
  stage: "ta",
  columns: ["rsi_14"],
  lookback: 14,
  compute: ({ close }) => ({ rsi_14: rsi(close, 14) }),
});
