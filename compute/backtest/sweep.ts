/**
 * EMA-crossover parameter sweep (pure, deterministic, no I/O).
 *
 * - Ranges are inclusive integer triples [lo, hi, step] (see ./sweep-grid.ts).
 * - Only pairs with fast < slow are evaluated, ordered by fast ascending then slow ascending.
 * - Each EMA period is computed once over `close` and kept in `emaCache` (pass your own Map to reuse it
 *   across sweeps over the SAME close series). EMA = compute/indicators/ema.ts (SMA-seeded,
 *   α = 2/(N+1), first value at index N−1).
 * - Signals: EMA cross-up → buy, cross-down → sell, filled at the next open by `runBacktest`.
 * - Each row also carries what the sweep's research statistics need from that combination, taken from its
 *   T = bars − 1 per-bar returns r_t = E[t]/E[t−1] − 1 (./metrics.ts) while they are at hand: SR (not
 *   annualised), g3, g4 (compute/research/sharpe.ts) and the PBO block summary for S blocks
 *   (compute/research/pbo.ts; null when ⌊T/S⌋ < 2, or when the caller turns them off for a sweep too large
 *   for its research). The ranking job then needs no returns at all.
 */
import { emaCrossActions } from "../signals/ema-cross.ts";
import { ema } from "../indicators/ema.ts";
import { emaGridPairs, type IntRange } from "./sweep-grid.ts";
import { runBacktest } from "./engine.ts";
import { blockSummary } from "../research/pbo.ts";
import { sharpeAndShape } from "../research/sharpe.ts";

/** S, the PBO blocks, when the caller names none. */
export const DEFAULT_PBO_BLOCKS = 16;

/** One grid point, in the shape the sweep_results table stores. */
export interface SweepRow {
  fast: number;
  slow: number;
  sharpe: number;
  total_return: number;
  max_drawdown: number;
  trades: number;
  /** T, the number of per-bar returns behind sr, g3, g4 and the blocks. */
  n_returns: number;
  sr: number;
  g3: number;
  g4: number;
  /** S block means and M2 of the last S·⌊T/S⌋ returns; null when ⌊T/S⌋ < 2 or blockSummaries is false. */
  block_mean: Float64Array | null;
  block_m2: Float64Array | null;
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
  /** S, the PBO blocks of each row's block summary (default 16). */
  pboBlocks?: number;
  /** false: no block summaries (block_mean / block_m2 null), for a sweep too large for its research. Default true. */
  blockSummaries?: boolean;
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
  const s = input.pboBlocks ?? DEFAULT_PBO_BLOCKS;
  const blocks = input.blockSummaries !== false && Math.floor((n - 1) / s) >= 2;
  const actions = new Int8Array(n);
  const equityBuffer = new Float64Array(n);
  const returns = new Float64Array(n - 1);
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
    for (let t = 1; t < n; t++) returns[t - 1] = equityBuffer[t] / equityBuffer[t - 1] - 1;
    const { sr, g3, g4 } = sharpeAndShape(returns);
    const summary = blocks ? blockSummary(returns, s) : null;
    rows.push({
      fast,
      slow,
      sharpe: metrics.sharpe,
      total_return: metrics.total_return,
      max_drawdown: metrics.max_drawdown,
      trades: metrics.trades,
      n_returns: n - 1,
      sr,
      g3,
      g4,
      block_mean: summary?.mean ?? null,
      block_m2: summary?.m2 ?? null,
    });
  }
  return rows;
}
