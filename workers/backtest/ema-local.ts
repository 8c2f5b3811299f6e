/**
 * Local SMA-seeded EMA used by the backtest sweep (pure, no I/O).
 *
 * Convention (shared with `workers/stage/compute/ema.ts`):
 *   α = 2 / (N + 1); out[i] = NaN for i < N − 1;
 *   out[N − 1] = mean(values[0..N−1]) (summed left to right, divided by N);
 *   out[i] = α·values[i] + (1 − α)·out[i − 1] for i ≥ N.
 * A series shorter than N is all NaN. Inputs are assumed finite.
 */
export function ema(values: ArrayLike<number>, period: number): Float64Array {
  if (!Number.isInteger(period) || period < 1) {
    throw new Error(`ema: period must be a positive integer (got ${String(period)})`);
  }
  const n = values.length;
  const out = new Float64Array(n).fill(Number.NaN);
  if (n < period) return out;
  let sum = 0;
  for (let i = 0; i < period; i++) sum += values[i];
  let prev = sum / period;
  out[period - 1] = prev;
  const alpha = 2 / (period + 1);
  const beta = 1 - alpha;
  for (let i = period; i < n; i++) {
    prev = alpha * values[i] + beta * prev;
    out[i] = prev;
  }
  return out;
}
