/**
 * k-bar returns. Bars, not calendar days: for equities `ret_5` is five sessions, for crypto five days; the
 * session calendar is already encoded in which rows exist.
 * pct = C[t]/C[t−k] − 1, log = ln(C[t]/C[t−k]); the first k values are NaN. A non-positive or NaN price makes
 * the return NaN (log) / whatever IEEE gives (pct) — the price store guarantees positive prices.
 */
import { defineIndicator } from "./indicator.ts";

/** Lookbacks (bars) materialised in the feature store, in column order. */
export const RETURN_LOOKBACKS = Object.freeze([1, 2, 3, 5, 7, 10, 14, 21, 30, 60, 90, 180, 365] as const);

export interface Returns {
  pct: Float64Array;
  log: Float64Array;
}

export function returns(close: ArrayLike<number>, k: number): Returns {
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`returns: k must be a positive integer, got ${k}`);
  const n = close.length;
  const pct = new Float64Array(n);
  const log = new Float64Array(n);
  const w = k < n ? k : n;
  for (let t = 0; t < w; t++) {
    pct[t] = NaN;
    log[t] = NaN;
  }
  for (let t = k; t < n; t++) {
    const r = close[t] / close[t - k];
    pct[t] = r - 1;
    log[t] = Math.log(r);
  }
  return { pct, log };
}

type ReturnColumn = `ret_${(typeof RETURN_LOOKBACKS)[number]}_${"pct" | "log"}`;

export const RETURNS = defineIndicator({
  name: "returns",
  stage: "returns",
  columns: RETURN_LOOKBACKS.flatMap((k): ReturnColumn[] => [`ret_${k}_pct`, `ret_${k}_log`]),
  lookback: Math.max(...RETURN_LOOKBACKS),
  compute: ({ close }) => {
    const out = {} as Record<ReturnColumn, Float64Array>;
    for (const k of RETURN_LOOKBACKS) {
      const r = returns(close, k);
      out[`ret_${k}_pct`] = r.pct;
      out[`ret_${k}_log`] = r.log;
    }
    return out;
  },
});
