/**
 * EMA-crossover parameter sweep (pure, deterministic, no I/O).
 *
 * - Ranges are inclusive integer triples [lo, hi, step]; `parseRange("5..50", "--fast")` → [5, 50, 1],
 *   `parseRange("5..50:5", "--fast")` → [5, 50, 5]; a single integer "9" → [9, 9, 1].
 * - Only pairs with fast < slow are evaluated, ordered by fast ascending then slow ascending.
 * - Each EMA period is computed once over `close` and kept in `emaCache` (pass your own Map to reuse it
 *   across sweeps over the SAME close series). EMA = workers/stage/compute/ema.ts (SMA-seeded,
 *   α = 2/(N+1), first value at index N−1).
 * - Signals: EMA cross-up → buy, cross-down → sell, filled at the next open by `runBacktest`.
 */
import { emaCrossActions } from "../signal/ema-cross.ts";
import { ema } from "../stage/compute/ema.ts";
import { runBacktest } from "./engine.ts";

export type IntRange = [lo: number, hi: number, step: number];

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

const INT_RE = /^[+-]?\d+$/;

/** Parse "LO..HI" or "LO..HI:STEP" (integers, LO ≤ HI, STEP > 0, LO ≥ 1). Errors name the flag and value. */
export function parseRange(text: string, flag: string): IntRange {
  const raw = String(text);
  const bad = (why: string): never => {
    throw new Error(`${flag}: ${why} (got ${JSON.stringify(raw)}; expected LO..HI or LO..HI:STEP)`);
  };
  const s = raw.trim();
  if (s === "") bad("empty range");
  const colon = s.split(":");
  if (colon.length > 2) bad("more than one ':'");
  const bounds = colon[0].split("..");
  if (bounds.length > 2) bad("more than one '..'");
  const tokens = bounds.length === 1 ? [bounds[0], bounds[0]] : bounds;
  const stepTok = colon.length === 2 ? colon[1] : "1";
  for (const tok of [...tokens, stepTok]) {
    if (!INT_RE.test(tok.trim())) bad(`non-integer value ${JSON.stringify(tok)}`);
  }
  const lo = Number(tokens[0]);
  const hi = Number(tokens[1]);
  const step = Number(stepTok);
  if (!Number.isSafeInteger(lo) || !Number.isSafeInteger(hi) || !Number.isSafeInteger(step)) {
    bad("value out of safe integer range");
  }
  if (step <= 0) bad(`step must be > 0 (got ${step})`);
  if (lo > hi) bad(`lo > hi (${lo} > ${hi})`);
  if (lo < 1) bad(`periods must be >= 1 (got ${lo})`);
  return [lo, hi, step];
}

export function rangeValues([lo, hi, step]: IntRange): number[] {
  const out: number[] = [];
  for (let v = lo; v <= hi; v += step) out.push(v);
  return out;
}

function checkRange(r: IntRange, flag: string): void {
  const [lo, hi, step] = r;
  if (![lo, hi, step].every(Number.isSafeInteger) || step <= 0 || lo > hi || lo < 1) {
    throw new Error(`${flag}: invalid range (got ${JSON.stringify(r)})`);
  }
}

/** All (fast, slow) pairs with fast < slow; throws naming both flags when the grid is empty. */
export function emaGridPairs(
  fastRange: IntRange,
  slowRange: IntRange,
  flags: [fast: string, slow: string] = ["--fast", "--slow"],
): Array<[number, number]> {
  checkRange(fastRange, flags[0]);
  checkRange(slowRange, flags[1]);
  const pairs: Array<[number, number]> = [];
  const slows = rangeValues(slowRange);
  for (const f of rangeValues(fastRange)) {
    for (const s of slows) if (f < s) pairs.push([f, s]);
  }
  if (pairs.length === 0) {
    throw new Error(
      `${flags[0]}/${flags[1]}: empty grid, no fast < slow pair ` +
        `(got ${flags[0]} ${fastRange.join(",")} and ${flags[1]} ${slowRange.join(",")})`,
    );
  }
  return pairs;
}

export function sweepEmaCross(input: SweepInput): SweepRow[] {
  const { open, close, dates, fastRange, slowRange, periodsPerYear } = input;
  const feeBps = input.feeBps ?? 10;
  const slippageBps = input.slippageBps ?? 0;
  const cache = input.emaCache ?? new Map<number, Float64Array>();
  const pairs = emaGridPairs(fastRange, slowRange);
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
