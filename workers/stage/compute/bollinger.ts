/**
 * Bollinger bands (p = 20, k = 2): mid = SMA_p, upper/lower = mid ± k·σ with σ the *population* std (ddof 0)
 * of the same p closes — Bollinger's definition, TA-Lib's and `technicalindicators`' — first at index p−1.
 * bandwidth = (upper − lower)/mid; %b = (close − lower)/(upper − lower), NaN when the bands collapse
 * (flat window) because the position inside a zero-width band is undefined.
 * O(n) via rollingMeanStd (shifted running sums, exact re-sum once per window; see stats.ts).
 */
import { rollingMeanStd } from "./stats.ts";

export interface Bollinger {
  mid: Float64Array;
  upper: Float64Array;
  lower: Float64Array;
  bandwidth: Float64Array;
  pctB: Float64Array;
}

export function bollinger(close: ArrayLike<number>, period = 20, k = 2): Bollinger {
  const { mean: mid, std } = rollingMeanStd(close, period, 0);
  const n = close.length;
  const upper = std; // reuse: std[t] is read before upper[t] is written
  const lower = new Float64Array(n);
  const bandwidth = new Float64Array(n);
  const pctB = new Float64Array(n);
  for (let t = 0; t < n; t++) {
    const m = mid[t];
    const w = k * std[t];
    const u = m + w;
    const l = m - w;
    upper[t] = u;
    lower[t] = l;
    bandwidth[t] = (u - l) / m;
    const r = u - l;
    pctB[t] = r !== 0 ? (close[t] - l) / r : NaN;
  }
  return { mid, upper, lower, bandwidth, pctB };
}
