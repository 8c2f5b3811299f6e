/**
 * k-bar returns. Bars, not calendar days: for equities `ret_5` is five sessions, for crypto five days; the
 * session calendar is already encoded in which rows exist.
 * pct = C[t]/C[t−k] − 1, log = ln(C[t]/C[t−k]); the first k values are NaN. A non-positive or NaN price makes
 * the return NaN (log) / whatever IEEE gives (pct) — the price store guarantees positive prices.
 */

/** Lookbacks (bars) materialised in the feature store, in column order. */
export const RETURN_LOOKBACKS: readonly number[] = Object.freeze([1, 2, 3, 5, 7, 10, 14, 21, 30, 60, 90, 180, 365]);

export interface Returns {
  pct: Float64Array;
  log: Float64Array;
}

export function returns(close: ArrayLike<number>, k: number): Returns {
  const n = close.length;
  const pct = new Float64Array(n);
  const log = new Float64Array(n);
  returnsInto(close, k, pct, log);
  return { pct, log };
}

/** ln(close[t]) for every bar; pass it to returnsInto() when computing many lookbacks. */
export function logPrices(close: ArrayLike<number>): Float64Array {
  const n = close.length;
  const out = new Float64Array(n);
  for (let t = 0; t < n; t++) out[t] = Math.log(close[t]);
  return out;
}

/**
 * Threshold on |r − 1| below which the log return is taken directly as ln(r) rather than as a difference of
 * cached logs. The difference carries an absolute error of a few ulps of ln(price) (≈ 4e-15 for prices near
 * 1e5); dividing by |ln r| > ~1e-3 keeps that below 1e-11 relative, and the rare small returns pay for one
 * Math.log each.
 */
const SMALL_RETURN = 1e-3;

/**
 * Writes pct and log returns into preallocated buffers. With `logClose` (from logPrices) the log return is
 * logClose[t] − logClose[t−k] except for small moves (see SMALL_RETURN): 13 lookbacks then cost one
 * Math.log per bar instead of thirteen, at a relative error below 1e-11.
 */
export function returnsInto(close: ArrayLike<number>, k: number, pct: Float64Array, log: Float64Array, logClose?: ArrayLike<number>): void {
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`returns: k must be a positive integer, got ${k}`);
  const n = close.length;
  const w = k < n ? k : n;
  for (let t = 0; t < w; t++) {
    pct[t] = NaN;
    log[t] = NaN;
  }
  if (logClose === undefined) {
    for (let t = k; t < n; t++) {
      const r = close[t] / close[t - k];
      pct[t] = r - 1;
      log[t] = Math.log(r);
    }
    return;
  }
  for (let t = k; t < n; t++) {
    const r = close[t] / close[t - k];
    const p = r - 1;
    pct[t] = p;
    // Math.log, not Math.log1p(p): V8 inlines the former and calls out to the runtime (~60 ns) for the latter;
    // r − 1 is exact here (Sterbenz), so both give the same value.
    log[t] = Math.abs(p) > SMALL_RETURN ? logClose[t] - logClose[t - k] : Math.log(r);
  }
}
