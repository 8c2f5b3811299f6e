/**
 * Range-based variance estimators, per bar, and their rolling annualised volatility.
 *
 * Per-bar values are *variances* of the log return (units: log-return², one bar), because that is what is
 * additive across bars: the rolling volatility is sqrt(P · mean of the last `window` per-bar variances), with
 * P = periods per year (365 for 24/7 crypto, 252 for equities) — averaging variances, not vols, keeps the
 * estimators unbiased over the window.
 *   Parkinson        ln(H/L)² / (4 ln 2)                               (high–low only; ignores gaps and drift)
 *   Garman–Klass     ½ ln(H/L)² − (2 ln 2 − 1) ln(C/O)²                (adds open/close; assumes no drift)
 *   Rogers–Satchell  ln(H/C)·ln(H/O) + ln(L/C)·ln(L/O)                 (drift-independent)
 * None uses the previous close, so overnight/weekend gaps are not measured (intended: they are in returns).
 * All three are ≥ 0 for consistent OHLC (L ≤ O,C ≤ H), so the square root is always real.
 * Rolling: first value at index window−1; a NaN per-bar value makes every window that contains it NaN.
 */
import { defineIndicator } from "./indicator.ts";

const FOUR_LN2 = 4 * Math.LN2;
const GK_K = 2 * Math.LN2 - 1;

export function parkinsonVariance(high: ArrayLike<number>, low: ArrayLike<number>): Float64Array {
  const n = high.length;
  const out = new Float64Array(n);
  for (let t = 0; t < n; t++) {
    const hl = Math.log(high[t] / low[t]);
    out[t] = (hl * hl) / FOUR_LN2;
  }
  return out;
}

export function garmanKlassVariance(open: ArrayLike<number>, high: ArrayLike<number>, low: ArrayLike<number>, close: ArrayLike<number>): Float64Array {
  const n = high.length;
  const out = new Float64Array(n);
  for (let t = 0; t < n; t++) {
    const hl = Math.log(high[t] / low[t]);
    const co = Math.log(close[t] / open[t]);
    out[t] = 0.5 * hl * hl - GK_K * co * co;
  }
  return out;
}

export function rogersSatchellVariance(open: ArrayLike<number>, high: ArrayLike<number>, low: ArrayLike<number>, close: ArrayLike<number>): Float64Array {
  const n = high.length;
  const out = new Float64Array(n);
  for (let t = 0; t < n; t++) {
    const h = high[t];
    const l = low[t];
    const c = close[t];
    const o = open[t];
    out[t] = Math.log(h / c) * Math.log(h / o) + Math.log(l / c) * Math.log(l / o);
  }
  return out;
}

export interface RangeVariances {
  parkinson: Float64Array;
  garmanKlass: Float64Array;
  rogersSatchell: Float64Array;
}

/**
 * All three estimators in one pass from ln O, ln H, ln L, ln C (4 Math.log per bar instead of 7). Each log
 * ratio becomes a difference of logs, exact to a few ulps of ln(price) (≈ 4e-15 absolute): relative error
 * ~1e-13 for a 1 % daily range, ~1e-10 for a 0.01 % one; bars with H = L (or H = C, …) still give exact 0.
 */
export function rangeVariances(open: ArrayLike<number>, high: ArrayLike<number>, low: ArrayLike<number>, close: ArrayLike<number>): RangeVariances {
  const n = high.length;
  const pk = new Float64Array(n);
  const gk = new Float64Array(n);
  const rs = new Float64Array(n);
  const invFour = 1 / FOUR_LN2;
  for (let t = 0; t < n; t++) {
    const lo = Math.log(open[t]);
    const lh = Math.log(high[t]);
    const ll = Math.log(low[t]);
    const lc = Math.log(close[t]);
    const hl = lh - ll;
    const co = lc - lo;
    const hl2 = hl * hl;
    pk[t] = hl2 * invFour;
    gk[t] = 0.5 * hl2 - GK_K * co * co;
    rs[t] = (lh - lc) * (lh - lo) + (ll - lc) * (ll - lo);
  }
  return { parkinson: pk, garmanKlass: gk, rogersSatchell: rs };
}

/**
 * sqrt(periodsPerYear · mean(variance[t−window+1..t])). Running sum with exact re-sums (same policy as
 * stats.ts rollingMeanStd): every max(window, 256) bars against drift, and as soon as the sum falls below
 * 1e-3 of its peak since the last re-sum — after a crash-day variance leaves the window the running sum would
 * otherwise keep an absolute error ~ε·spike, large next to a calm window's sum. O(n) overall.
 */
export function rollingAnnualisedVol(variance: ArrayLike<number>, periodsPerYear: number, window = 20): Float64Array {
  if (!Number.isInteger(window) || window < 1) throw new RangeError(`rolling vol: window must be a positive integer, got ${window}`);
  if (!(periodsPerYear > 0)) throw new RangeError(`rolling vol: periodsPerYear must be > 0, got ${periodsPerYear}`);
  const n = variance.length;
  const out = new Float64Array(n);
  const scale = periodsPerYear / window;
  const resumEvery = window > 256 ? window : 256;
  let sum = 0;
  let peak = 0;
  let nan = 0; // NaNs in the window (excluded from sum)
  let untilResum = 0;
  for (let t = 0; t < n; t++) {
    if (t < window - 1) {
      out[t] = NaN;
      continue;
    }
    if (untilResum > 0) {
      const vin = variance[t];
      const vout = variance[t - window];
      if (vin === vin) sum += vin;
      else nan++;
      if (sum > peak) peak = sum;
      if (vout === vout) sum -= vout;
      else nan--;
      if (sum < peak * 1e-3) untilResum = 0;
    }
    if (untilResum === 0) {
      sum = 0;
      nan = 0;
      for (let j = t - window + 1; j <= t; j++) {
        const v = variance[j];
        if (v === v) sum += v;
        else nan++;
      }
      peak = sum;
      untilResum = resumEvery;
    }
    untilResum--;
    const m = sum * scale;
    out[t] = nan > 0 ? NaN : Math.sqrt(m > 0 ? m : 0);
  }
  return out;
}

export const RANGE_VOLATILITY = defineIndicator({
  name: "range_volatility",
  stage: "volatility",
  columns: ["vol_parkinson", "vol_gk", "vol_rs", "vol_parkinson_20", "vol_gk_20", "vol_rs_20"],
  lookback: 20,
  compute: ({ open, high, low, close }, { periodsPerYear }) => {
    const v = rangeVariances(open, high, low, close);
    return {
      vol_parkinson: v.parkinson,
      vol_gk: v.garmanKlass,
      vol_rs: v.rogersSatchell,
      vol_parkinson_20: rollingAnnualisedVol(v.parkinson, periodsPerYear, 20),
      vol_gk_20: rollingAnnualisedVol(v.garmanKlass, periodsPerYear, 20),
      vol_rs_20: rollingAnnualisedVol(v.rogersSatchell, periodsPerYear, 20),
    };
  },
});
