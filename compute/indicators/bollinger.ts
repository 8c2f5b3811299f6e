/**
 * Bollinger bands (p = 20, k = 2): mid = SMA_p, upper/lower = mid ± k·σ with σ the *population* std (ddof 0)
 * of the same p closes — Bollinger's definition, TA-Lib's and `technicalindicators`' — first at index p−1.
 * bandwidth = (upper − lower)/mid; %b = (close − lower)/(upper − lower), NaN when the bands collapse
 * (flat window) because the position inside a zero-width band is undefined.
 * O(n) via rollingMeanStd (shifted running sums, exact re-sum once per window; see stats.ts).
 */
import { defineIndicator } from "./indicator.ts";
import { rollingMeanStd } from "./stats.ts";

export interface Bollinger {
  mid: Float64Array;
  upper: Float64Array;
  lower: Float64Array;
  bandwidth: Float64Array;
  pctB: Float64Array;
}

export type BollingerBands = Pick<Bollinger, "mid" | "upper" | "lower">;

/** The three bands only (what the feature store keeps). */
export function bollingerBands(close: ArrayLike<number>, period = 20, k = 2): BollingerBands {
  const { mean: mid, std } = rollingMeanStd(close, period, 0);
  const n = close.length;
  const upper = std; // reuse: std[t] is read before upper[t] is written
  const lower = new Float64Array(n);
  for (let t = 0; t < n; t++) {
    const m = mid[t];
    const w = k * std[t];
    upper[t] = m + w;
    lower[t] = m - w;
  }
  return { mid, upper, lower };
}

export function bollinger(close: ArrayLike<number>, period = 20, k = 2): Bollinger {
  const { mid, upper, lower } = bollingerBands(close, period, k);
  const n = close.length;
  const bandwidth = new Float64Array(n);
  const pctB = new Float64Array(n);
  for (let t = 0; t < n; t++) {
    const u = upper[t];
    const l = lower[t];
    const r = u - l;
    bandwidth[t] = r / mid[t];
    pctB[t] = r !== 0 ? (close[t] - l) / r : NaN;
  }
  return { mid, upper, lower, bandwidth, pctB };
}

export const BOLLINGER = defineIndicator({
  name: "bollinger",
  stage: "ta",
  columns: ["bb_mid", "bb_upper", "bb_lower"],
  lookback: 20,
  compute: ({ close }) => {
    const b = bollingerBands(close, 20, 2);
    return { bb_mid: b.mid, bb_upper: b.upper, bb_lower: b.lower };
  },
});
