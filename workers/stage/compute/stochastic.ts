/**
 * Fast stochastic oscillator.
 * %K(p)[t] = 100·(C[t] − LL)/(HH − LL) over the last p bars including t (first at index p−1);
 * %D = simple mean of the last `dPeriod` %K values (first at index p−1+dPeriod−1, i.e. 15 for (14, 3)).
 * A flat window (HH = LL) has no position inside its range, so %K is NaN there — not 50 (an invented
 * neutral reading) and not 0 (`technicalindicators`' choice, which reads like "at the low"); %D over a window
 * containing a NaN %K is NaN too. Consumers that need a value must decide explicitly.
 * HH/LL come from monotonic deques of indices (O(n) total, no per-bar allocation). Inputs must be finite.
 * Differs from `technicalindicators` only on flat windows (it returns %K = 0 there).
 */

export interface Stochastic {
  k: Float64Array;
  d: Float64Array;
}

export function stochastic(high: ArrayLike<number>, low: ArrayLike<number>, close: ArrayLike<number>, period = 14, dPeriod = 3): Stochastic {
  if (!Number.isInteger(period) || period < 1) throw new RangeError(`stochastic: period must be a positive integer, got ${period}`);
  if (!Number.isInteger(dPeriod) || dPeriod < 1) throw new RangeError(`stochastic: dPeriod must be a positive integer, got ${dPeriod}`);
  const n = close.length;
  const k = new Float64Array(n);
  const d = new Float64Array(n);
  // Each index is pushed at most once, so plain arrays of length n with monotone heads suffice.
  const maxQ = new Int32Array(n);
  const minQ = new Int32Array(n);
  let maxH = 0;
  let maxT = 0;
  let minH = 0;
  let minT = 0;
  const firstK = period - 1;
  for (let t = 0; t < n; t++) {
    const h = high[t];
    const l = low[t];
    while (maxT > maxH && high[maxQ[maxT - 1]] <= h) maxT--;
    maxQ[maxT++] = t;
    while (minT > minH && low[minQ[minT - 1]] >= l) minT--;
    minQ[minT++] = t;
    const start = t - period + 1;
    if (maxQ[maxH] < start) maxH++;
    if (minQ[minH] < start) minH++;
    if (t < firstK) {
      k[t] = NaN;
      d[t] = NaN;
      continue;
    }
    const hh = high[maxQ[maxH]];
    const ll = low[minQ[minH]];
    const range = hh - ll;
    const kv = range !== 0 ? (100 * (close[t] - ll)) / range : NaN;
    k[t] = kv;
    if (t < firstK + dPeriod - 1) {
      d[t] = NaN;
      continue;
    }
    // dPeriod is a small constant (3): summing it directly is as fast as a running sum, has no drift (a
    // window of exact zeros gives exactly 0) and propagates NaN for free.
    let s = 0;
    for (let j = t - dPeriod + 1; j <= t; j++) s += k[j];
    d[t] = s / dPeriod;
  }
  return { k, d };
}
