/**
 * EMA-crossover parameter sweep (pure, deterministic, no I/O).
 *
 * - Ranges are inclusive integer triples [lo, hi, step] (see ./sweep-grid.ts).
 * - Only pairs with fast < slow are evaluated, ordered by fast ascending then slow ascending.
 * - Each EMA period is computed once over `close` and kept in `emaCache` (pass your own Map to reuse it
 *   across sweeps over the SAME close series). EMA = compute/indicators/ema.ts (SMA-seeded,
 *   α = 2/(N+1), first value at index N−1).
 * - Signals: EMA cross-up → buy, cross-down → sell, filled at the next open by `runBacktest`.
 */
import { emaCrossActions } from "../signals/ema-cross.ts";
import { ema } from "../indicators/ema.ts";
import { emaGridPairs, type IntRange } from "./sweep-grid.ts";
import { runBacktest } from "./engine.ts";

/** One grid point, in the shape the sweep_results table stores. */
export interface SweepRow {
  fast: number;
  slow: number;
  sharpe: number;
  total_return: number;
  max_drawdown: number;
  trades: number;
}

export interface SweepInput {
  open: ArrayLike<number>;
  close: ArrayLike<number>;
  dates: ArrayLike<string>;
  fastRange: IntRange;
  slowRange: IntRange;
  feeBps?: number;
  slippageBps?: number;
  periodsPerYear: number;
  emaCache?: Map<number, Float64Array>;
}

export function sweepEmaCross(input: SweepInput): SweepRow[] {
  return evaluateEmaPairs({ ...input, pairs: emaGridPairs(input.fastRange, input.slowRange) });
}

export type PairsInput = Omit<SweepInput, "fastRange" | "slowRange"> & { pairs: ReadonlyArray<readonly [number, number]> };

/** Backtests of EMA crossover for each (fast, slow) pair; every EMA period is computed once (cached). */
export function evaluateEmaPairs(input: PairsInput): SweepRow[] {
  const { open, close, dates, pairs, periodsPerYear } = input;
  const feeBps = input.feeBps ?? 10;
  const slippageBps = input.slippageBps ?? 0;
  const cache = input.emaCache ?? new Map<number, Float64Array>();
  const n = close.length;
  const getEma = (p: number): Float64Array => {
    let e = cache.get(p);
    if (e === undefined) {
      e = ema(close, p);
      cache.set(p, e);
    } else if (e.length !== n) {
      throw new Error(`sweepEmaCross: emaCache entry for period ${p} has length ${e.length} != ${n}`);
    }
    return e;
  };
  const actions = new Int8Array(n);
  const equityBuffer = new Float64Array(n);
  const rows: SweepRow[] = [];
  for (const [fast, slow] of pairs) {
    emaCrossActions(getEma(fast), getEma(slow), actions);
    const { metrics } = runBacktest({
      open,
      close,
      dates,
      actions,
      feeBps,
      slippageBps,
      periodsPerYear,
      equityBuffer,
    });
    rows.push({
      fast,
      slow,
      sharpe: metrics.sharpe,
      total_return: metrics.total_return,
      max_drawdown: metrics.max_drawdown,
      trades: metrics.trades,
    });
  }
  return rows;
}
