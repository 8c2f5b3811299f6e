/**
 * Normalisation and outlier flags for feature columns.
 *
 * Rolling z-score: z[t] = (x[t] − mean)/std over the last `window` values including t (default 252, one
 * equity year), sample std (ddof = 1) because the window is a sample of the process, not the population.
 * The window must be fully defined: any NaN inside it (e.g. an indicator's own warm-up) gives NaN, so the
 * first z-score of a clean series is at index window−1 and of an EMA-200 column at 199 + window−1. A window
 * with zero spread gives NaN (no scale to normalise by), not 0 or ±Infinity.
 *
 * Outlier flags (marks only — values are kept for analysis). NaNs are ignored in the statistics and never
 * flagged.
 *   z-score: |x − mean|/std > threshold (default 4) with mean/std (ddof = 1) over the whole series;
 *            fewer than two values or std = 0 → nothing flagged.
 *   IQR:     x < Q1 − k·IQR or x > Q3 + k·IQR (default k = 1.5), quartiles by linear interpolation between
 *            order statistics — numpy's default (`method='linear'`), h = (n−1)·p — so research notebooks
 *            reproduce the flags exactly.
 *
 * rollingMeanStd() is the O(n) engine shared with Bollinger bands. Running sums of (x − K) and (x − K)² are
 * kept relative to a shift K, the window mean at the last exact two-pass re-sum, so the E[x²] − E[x]² form
 * does not cancel for prices ~1e4 with a tiny spread. A re-sum happens (a) every max(window, 256) bars, so
 * rounding drift cannot build up, and (b) whenever the centred sum of squares Σ(x−K)² − (Σ(x−K))²/w falls
 * below 1e-3 of the largest Σ(x−K)² since the last re-sum: after a high-variance stretch or a level shift
 * leaves the window, the difference would otherwise carry an absolute error ~ε·peak that swamps the new,
 * small variance. Both are O(window) and rare on market data, so the total stays O(n).
 * A window of identical values is detected by run length and reports std exactly 0.
 */

/** Re-sum exactly when the centred sum of squares drops below this fraction of its recent peak. */
const RESUM_FRACTION = 1e-3;
/** Minimum interval between periodic exact re-sums. Between re-sums the centred sum stays ≥ 1e-3 of the raw
 * sums, so after m updates its relative error is ≲ m·ε·1e3 ≈ 6e-11 for m = 256. */
const RESUM_EVERY = 256;

export interface MeanStd {
  mean: Float64Array;
  std: Float64Array;
}

export function rollingMeanStd(x: ArrayLike<number>, window: number, ddof: 0 | 1): MeanStd {
  if (!Number.isInteger(window) || window < 1) throw new RangeError(`rolling: window must be a positive integer, got ${window}`);
  if (window - ddof < 1) throw new RangeError(`rolling: window ${window} too small for ddof ${ddof}`);
  const n = x.length;
  const mean = new Float64Array(n);
  const std = new Float64Array(n);
  const invW = 1 / window;
  const invDenom = 1 / (window - ddof);
  const resumEvery = window > RESUM_EVERY ? window : RESUM_EVERY;
  let K = 0;
  let s1 = 0;
  let s2 = 0;
  let peak = 0; // largest s2 since the last exact re-sum
  let nan = 0;
  let untilResync = 0;
  let c2 = 0; // centred sum of squares Σ(x − mean)² of the window
  let run = 0; // length of the run of identical values ending at t
  let prev = NaN;
  for (let t = 0; t < n; t++) {
    const xin = x[t];
    run = xin === prev ? run + 1 : 1; // NaN never equals, so runs are of defined values only
    prev = xin;
    if (t < window - 1) {
      mean[t] = NaN;
      std[t] = NaN;
      continue;
    }
    if (untilResync > 0) {
      if (xin === xin) {
        const dv = xin - K;
        s1 += dv;
        s2 += dv * dv;
        if (s2 > peak) peak = s2;
      } else nan++;
      const xout = x[t - window];
      if (xout === xout) {
        const dv = xout - K;
        s1 -= dv;
        s2 -= dv * dv;
      } else nan--;
      // Centred sum of squares small next to the raw sums it is the difference of (either because variance
      // dropped or because K is now far from the window mean): recompute this window exactly.
      c2 = s2 - s1 * s1 * invW;
      if (c2 < peak * RESUM_FRACTION) untilResync = 0;
    }
    if (untilResync === 0) {
      nan = 0;
      let sum = 0;
      let cnt = 0;
      for (let j = t - window + 1; j <= t; j++) {
        const v = x[j];
        if (v === v) {
          sum += v;
          cnt++;
        } else nan++;
      }
      K = cnt > 0 ? sum / cnt : 0;
      s1 = 0;
      s2 = 0;
      for (let j = t - window + 1; j <= t; j++) {
        const v = x[j];
        if (v === v) {
          const dv = v - K;
          s1 += dv;
          s2 += dv * dv;
        }
      }
      peak = s2;
      c2 = s2 - s1 * s1 * invW;
      untilResync = resumEvery;
    }
    untilResync--;
    if (nan > 0) {
      mean[t] = NaN;
      std[t] = NaN;
    } else if (run >= window) {
      mean[t] = xin;
      std[t] = 0;
    } else {
      mean[t] = K + s1 * invW;
      std[t] = c2 > 0 ? Math.sqrt(c2 * invDenom) : 0;
    }
  }
  return { mean, std };
}

/** Rolling z-score (see header): sample std, full defined window required, std = 0 → NaN. */
export function rollingZScore(x: ArrayLike<number>, window = 252): Float64Array {
  const { mean, std } = rollingMeanStd(x, window, 1);
  const n = x.length;
  const out = mean; // reuse: mean[t] is read before out[t] is written
  for (let t = 0; t < n; t++) {
    const s = std[t];
    out[t] = s > 0 ? (x[t] - mean[t]) / s : NaN;
  }
  return out;
}

/** Defined values of x, sorted ascending. */
function sortedDefined(x: ArrayLike<number>): Float64Array {
  const n = x.length;
  let cnt = 0;
  for (let t = 0; t < n; t++) if (x[t] === x[t]) cnt++;
  const v = new Float64Array(cnt);
  let j = 0;
  for (let t = 0; t < n; t++) {
    const a = x[t];
    if (a === a) v[j++] = a;
  }
  return v.sort();
}

/** numpy-default (linear) quantile of an ascending array; NaN when empty. */
export function quantileLinear(sorted: ArrayLike<number>, p: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const h = (n - 1) * p;
  const lo = Math.floor(h);
  if (lo >= n - 1) return sorted[n - 1];
  const frac = h - lo;
  return sorted[lo] + frac * (sorted[lo + 1] - sorted[lo]);
}

/** Whole-series z-score outlier flags (1 = outlier). */
export function outlierFlagsZScore(x: ArrayLike<number>, threshold = 4): Uint8Array {
  const n = x.length;
  const flags = new Uint8Array(n);
  let cnt = 0;
  let sum = 0;
  for (let t = 0; t < n; t++) {
    const a = x[t];
    if (a === a) {
      sum += a;
      cnt++;
    }
  }
  if (cnt < 2) return flags;
  const mean = sum / cnt;
  let ss = 0;
  for (let t = 0; t < n; t++) {
    const a = x[t];
    if (a === a) ss += (a - mean) * (a - mean);
  }
  const std = Math.sqrt(ss / (cnt - 1));
  if (!(std > 0)) return flags;
  for (let t = 0; t < n; t++) {
    const a = x[t];
    if (a === a && Math.abs(a - mean) / std > threshold) flags[t] = 1;
  }
  return flags;
}

/** Tukey-fence outlier flags with numpy-linear quartiles (1 = outlier). */
export function outlierFlagsIQR(x: ArrayLike<number>, k = 1.5): Uint8Array {
  const n = x.length;
  const flags = new Uint8Array(n);
  const s = sortedDefined(x);
  if (s.length === 0) return flags;
  const q1 = quantileLinear(s, 0.25);
  const q3 = quantileLinear(s, 0.75);
  const iqr = q3 - q1;
  const lo = q1 - k * iqr;
  const hi = q3 + k * iqr;
  for (let t = 0; t < n; t++) {
    const a = x[t];
    if (a < lo || a > hi) flags[t] = 1; // NaN compares false: never flagged
  }
  return flags;
}
