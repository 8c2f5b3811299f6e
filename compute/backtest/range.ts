/**
 * A backtest over a bar range [a, b] of a longer series (pure, no I/O), for walk-forward windows.
 *
 * Definition: indicators and actions are computed over the FULL history (causal), then the engine
 * (./engine.ts) runs unchanged on the subarrays [a..b] of open, close, dates and actions. By the engine's
 * conventions that is exactly:
 * - flat with equity 1.0 at bar a's close (the engine's bar 0 never holds a position);
 * - signals evaluated on the closes of bars a..b−1 and filled at the next bar's open; the action on bar b
 *   is ignored (the engine's last bar); a cross AT bar a compares bar a with bar a−1, because the actions
 *   were computed over the full history before slicing;
 * - equity marked at every close a..b; a position still open at b is marked at b's close with no exit fee
 *   and is not a trade; fees as the engine's.
 * Its per-bar returns are E[t]/E[t−1] − 1 for t = a+1..b. Trade and open-position indices are shifted back
 * to the full series' indices, so a trade reads the same whichever range it was found in.
 */
import { runBacktest, type BacktestResult } from "./engine.ts";

export interface RangeSeries {
  open: Float64Array;
  close: Float64Array;
  dates: readonly string[];
  /** Actions over the full history (e.g. emaCrossActions over full-history EMAs). */
  actions: Int8Array;
}

export interface RangeOptions {
  feeBps: number;
  periodsPerYear: number;
  /** Reusable equity buffer of exactly b − a + 1 elements (see runBacktest's equityBuffer). */
  equityBuffer?: Float64Array;
}

export function backtestRange(s: RangeSeries, a: number, b: number, o: RangeOptions): BacktestResult {
  const n = s.close.length;
  if (!(Number.isInteger(a) && Number.isInteger(b) && a >= 0 && a <= b && b < n)) {
    throw new Error(`backtestRange: range [${a}, ${b}] is not within the series' bars 0..${n - 1}`);
  }
  const r = runBacktest({
    open: s.open.subarray(a, b + 1),
    close: s.close.subarray(a, b + 1),
    dates: s.dates.slice(a, b + 1),
    actions: s.actions.subarray(a, b + 1),
    feeBps: o.feeBps,
    periodsPerYear: o.periodsPerYear,
    ...(o.equityBuffer ? { equityBuffer: o.equityBuffer } : {}),
  });
  if (a === 0) return r;
  for (const t of r.trades) {
    t.entryIndex += a;
    t.exitIndex += a;
  }
  if (r.openPosition) {
    r.openPosition.entryIndex += a;
    r.openPosition.markIndex += a;
  }
  return r;
}
