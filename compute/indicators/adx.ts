/**
 * ADX(p = 14), classic Wilder (as in his 1978 book and `technicalindicators`).
 *   From bar 1: up = H[t] − H[t−1], down = L[t−1] − L[t]; +DM = up if up > down and up > 0 else 0;
 *   −DM = down if down > up and down > 0 else 0; TR as in atr.ts.
 *   Smoothed sums S ∈ {TR_p, +DM_p, −DM_p}: S[p] = Σ x[1..p], then S[t] = S[t−1] − S[t−1]/p + x[t].
 *   +DI = 100·(+DM_p)/TR_p, −DI = 100·(−DM_p)/TR_p, DX = 100·|+DI − −DI|/(+DI + −DI), all from bar p.
 *   ADX[2p−1] = mean(DX[p..2p−1]) (bar 27 for p = 14), then ADX[t] = (ADX[t−1]·(p−1) + DX[t])/p.
 * Degenerate windows: TR_p = 0 (no movement at all for p bars) → +DI = −DI = 0; +DI + −DI = 0 → DX = 0
 * (TA-Lib's choice: "no directional movement" is a trend strength of 0, not a hole in the data).
 */
import { defineIndicator } from "./indicator.ts";

export interface Adx {
  plusDi: Float64Array;
  minusDi: Float64Array;
  adx: Float64Array;
}

export function adx(high: ArrayLike<number>, low: ArrayLike<number>, close: ArrayLike<number>, period = 14): Adx {
  if (!Number.isInteger(period) || period < 1) throw new RangeError(`adx: period must be a positive integer, got ${period}`);
  const n = close.length;
  const plusDi = new Float64Array(n).fill(NaN);
  const minusDi = new Float64Array(n).fill(NaN);
  const out = new Float64Array(n).fill(NaN);
  let str = 0;
  let spdm = 0;
  let smdm = 0;
  let dxSum = 0;
  let a = 0;
  const p = period;
  const invP = 1 / p;
  const decay = 1 - invP;
  const adxStart = 2 * p - 1;
  for (let t = 1; t < n; t++) {
    const h = high[t];
    const l = low[t];
    const ph = high[t - 1];
    const pl = low[t - 1];
    const pc = close[t - 1];
    const up = h - ph;
    const down = pl - l;
    const pdm = up > down && up > 0 ? up : 0;
    const mdm = down > up && down > 0 ? down : 0;
    let tr = h - l;
    const ta = h > pc ? h - pc : pc - h;
    const tb = l > pc ? l - pc : pc - l;
    if (ta > tr) tr = ta;
    if (tb > tr) tr = tb;
    if (t < p) {
      str += tr;
      spdm += pdm;
      smdm += mdm;
      continue;
    }
    if (t === p) {
      str += tr;
      spdm += pdm;
      smdm += mdm;
    } else {
      // S − S/p + x written as S·(1 − 1/p) + x: multiplications instead of divisions, same value to rounding
      str = str * decay + tr;
      spdm = spdm * decay + pdm;
      smdm = smdm * decay + mdm;
    }
    const scale = str !== 0 ? 100 / str : 0;
    const pdi = spdm * scale;
    const mdi = smdm * scale;
    plusDi[t] = pdi;
    minusDi[t] = mdi;
    const diSum = pdi + mdi;
    const dx = diSum !== 0 ? (100 * Math.abs(pdi - mdi)) / diSum : 0;
    if (t < adxStart) {
      dxSum += dx;
    } else if (t === adxStart) {
      a = (dxSum + dx) / p;
      out[t] = a;
    } else {
      a = a * decay + dx * invP;
      out[t] = a;
    }
  }
  return { plusDi, minusDi, adx: out };
}

export const ADX = defineIndicator({
  name: "adx",
  stage: "ta",
  columns: ["adx_14", "plus_di_14", "minus_di_14"],
  lookback: 2 * 14 - 1,
  compute: ({ high, low, close }) => {
    const a = adx(high, low, close, 14);
    return { adx_14: a.adx, plus_di_14: a.plusDi, minus_di_14: a.minusDi };
  },
});
