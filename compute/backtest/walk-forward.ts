/**
 * Walk-forward optimisation of the EMA crossover (pure, deterministic, no I/O).
 *
 * Windows (planWindows): bars are indexed 0..n−1 over the asset's whole series. Test windows start at
 * s_k = train + k·test for k = 0, 1, … while s_k ≤ n − 2 (so every test window has at least one return);
 * window k tests bars [s_k, min(s_k + test, n) − 1] and trains on bars [s_k − train, s_k − 1].
 *
 * One window (evaluateWindow): every grid combination (fast < slow, fast then slow ascending) is backtested
 * on the train range with compute/backtest/range.ts (EMAs and actions over the full history). The chosen one
 * has the highest annualised Sharpe: sharpe() of compute/research/sharpe.ts (mean/std, ddof = 1, and 0 when the
 * std is 0 — a range without a position has no variance) times √P; the first in grid order tied (sharpeTied,
 * 1e-9 relative) with the maximum wins, and a NaN Sharpe (a NaN price) never does. The test range's Sharpe is
 * the same figure. It is then backtested on the test range; the window keeps
 * that backtest's returns E[t]/E[t−1] − 1, t = a+1..b, its closed trades' pnl and its bars held.
 *
 * Stitching (stitch): the windows' returns in window order chained from 1.0. The return into a window's
 * first bar belongs to no window, so the curve is 1.0 at the first test window's first bar, then one point
 * per return labelled with the date of the bar it ends on (a later window's first bar has no point).
 * Metrics are computeMetrics (compute/backtest/metrics.ts) of that curve, with the trade-based fields (win
 * rate, profit factor, trades) over the windows' closed trades concatenated, each pnl in its own window's
 * units (every window starts at 1.0; not rescaled to the stitched equity, which only the profit factor would
 * notice), and exposure = Σ bars held (bars a+1..b of each window with a position at the close) / curve
 * points. WFE = mean OOS Sharpe / mean IS Sharpe over the windows (means
 * summed in window order).
 *
 * Hindsight best (hindsightBest): the yardstick the stitched curve is plotted against. Every grid
 * combination is backtested on ONE range [a, b] — for a walk-forward, the first test window's first bar to
 * the last test bar, the bars the stitched curve covers — and the one with the highest annualised Sharpe on
 * that same range wins (the window choice's rule: first in grid order within 1e-9 relative, NaN never wins).
 * It is chosen with hindsight: in-sample on the very bars it is judged on. Its curve is that backtest's
 * equity, 1.0 at bar a's close, one point per bar a..b (so it also has the bars the stitched curve skips,
 * the later windows' first bars).
 */
import { backtestRange, type RangeSeries } from "./range.ts";
import { computeMetrics, type BacktestMetrics } from "./metrics.ts";
import { ema } from "../indicators/ema.ts";
import { emaCrossActions } from "../signals/ema-cross.ts";
import { sharpe, sharpeTied } from "../research/sharpe.ts";

export interface WindowPlan {
  k: number;
  trainStart: number;
  trainEnd: number;
  testStart: number;
  testEnd: number;
}

/** The windows of a walk-forward over n bars; empty when s_0 = train > n − 2. */
export function planWindows(n: number, train: number, test: number): WindowPlan[] {
  for (const [name, v] of [["n", n], ["train", train], ["test", test]] as const) {
    if (!Number.isSafeInteger(v) || v < (name === "n" ? 0 : 1)) throw new Error(`planWindows: ${name} must be an integer ≥ ${name === "n" ? 0 : 1} (got ${String(v)})`);
  }
  const out: WindowPlan[] = [];
  for (let k = 0, s = train; s <= n - 2; k++, s += test) {
    out.push({ k, trainStart: s - train, trainEnd: s - 1, testStart: s, testEnd: Math.min(s + test, n) - 1 });
  }
  return out;
}

export interface WindowInput {
  open: Float64Array;
  close: Float64Array;
  dates: readonly string[];
  pairs: ReadonlyArray<readonly [number, number]>;
  window: WindowPlan;
  feeBps: number;
  periodsPerYear: number;
}

export interface WindowResult extends WindowPlan {
  trainStartDate: string;
  trainEndDate: string;
  testStartDate: string;
  testEndDate: string;
  fast: number;
  slow: number;
  /** Annualised Sharpe of the chosen combination on the train range. */
  isSharpe: number;
  oosSharpe: number;
  oosTotalReturn: number;
  oosTrades: number;
  /** A position was still open at the test window's last bar. */
  openAtEnd: boolean;
  /** The test backtest's returns, t = testStart+1..testEnd. */
  returns: Float64Array;
  /** pnl of the test backtest's closed trades, in exit order. */
  tradePnl: Float64Array;
  /** Bars of the test range (after its first) whose close was held in a position. */
  barsInPosition: number;
}

/** Each EMA period of `close` computed once, on first use. */
function emaCache(close: ArrayLike<number>): (period: number) => Float64Array {
  const emas = new Map<number, Float64Array>();
  return (p) => {
    let e = emas.get(p);
    if (!e) emas.set(p, (e = ema(close, p)));
    return e;
  };
}

/** Index of the highest Sharpe: the first in order tied with the maximum; NaN never wins; 0 when all are NaN. */
export function bestIndex(sharpes: ArrayLike<number>): number {
  let max = Number.NaN;
  for (let i = 0; i < sharpes.length; i++) if (sharpes[i] > max || max !== max) max = sharpes[i];
  if (max !== max) return 0;
  // === first: two infinite Sharpes are equal, but their difference is NaN.
  for (let i = 0; i < sharpes.length; i++) if (sharpes[i] === max || sharpeTied(sharpes[i], max)) return i;
  return 0;
}

/** Annualised Sharpe of an equity curve's returns, 0 when they have no variance; `scratch` holds the returns. */
function annualisedSharpe(equity: ArrayLike<number>, periodsPerYear: number, scratch: Float64Array): number {
  const t = equity.length - 1;
  for (let i = 1; i <= t; i++) scratch[i - 1] = equity[i]! / equity[i - 1]! - 1;
  return sharpe(scratch, 0, t) * Math.sqrt(periodsPerYear);
}

export function evaluateWindow(input: WindowInput): WindowResult {
  const { open, close, dates, pairs, window: w, feeBps, periodsPerYear } = input;
  const n = close.length;
  if (pairs.length === 0) throw new Error("evaluateWindow: pairs is empty");
  if (w.trainStart < 0 || w.trainEnd !== w.testStart - 1 || w.testEnd < w.testStart || w.testEnd >= n) {
    throw new Error(`evaluateWindow: window ${w.k} (train ${w.trainStart}..${w.trainEnd}, test ${w.testStart}..${w.testEnd}) does not fit ${n} bars`);
  }
  const emaOf = emaCache(close);
  const actions = new Int8Array(n);
  const series: RangeSeries = { open, close, dates, actions };
  const opts = { feeBps, periodsPerYear, equityBuffer: new Float64Array(w.trainEnd - w.trainStart + 1) };
  const sharpes = new Float64Array(pairs.length);
  const scratch = new Float64Array(Math.max(w.trainEnd - w.trainStart, w.testEnd - w.testStart));
  for (let i = 0; i < pairs.length; i++) {
    const [f, s] = pairs[i]!;
    emaCrossActions(emaOf(f), emaOf(s), actions);
    sharpes[i] = annualisedSharpe(backtestRange(series, w.trainStart, w.trainEnd, opts).equity, periodsPerYear, scratch);
  }
  const best = bestIndex(sharpes);
  const [fast, slow] = pairs[best]!;
  emaCrossActions(emaOf(fast), emaOf(slow), actions);
  const oos = backtestRange(series, w.testStart, w.testEnd, { feeBps, periodsPerYear });
  const returns = new Float64Array(w.testEnd - w.testStart);
  for (let t = 1; t < oos.equity.length; t++) returns[t - 1] = oos.equity[t]! / oos.equity[t - 1]! - 1;
  return {
    ...w,
    trainStartDate: dates[w.trainStart]!,
    trainEndDate: dates[w.trainEnd]!,
    testStartDate: dates[w.testStart]!,
    testEndDate: dates[w.testEnd]!,
    fast,
    slow,
    isSharpe: sharpes[best]!,
    oosSharpe: annualisedSharpe(oos.equity, periodsPerYear, scratch),
    oosTotalReturn: oos.metrics.total_return,
    oosTrades: oos.metrics.trades,
    openAtEnd: oos.openPosition !== null,
    returns,
    tradePnl: Float64Array.from(oos.trades, (t) => t.pnl),
    barsInPosition: oos.barsInPosition,
  };
}

/** What stitching reads of a window. */
export type StitchWindow = Pick<WindowResult, "k" | "testStart" | "testEnd" | "isSharpe" | "oosSharpe" | "barsInPosition"> & {
  returns: ArrayLike<number>;
  tradePnl: ArrayLike<number>;
};

export interface Stitched {
  dates: string[];
  equity: Float64Array;
  metrics: BacktestMetrics;
  meanIsSharpe: number;
  meanOosSharpe: number;
  /** Walk-forward efficiency: meanOosSharpe / meanIsSharpe. */
  wfe: number;
}

/** The stitched OOS curve and its metrics; `dates` are the full series' (windows index into them). */
export function stitch(windows: readonly StitchWindow[], dates: readonly string[], periodsPerYear: number): Stitched {
  if (windows.length === 0) throw new Error("stitch: no windows");
  let points = 1;
  for (const [i, w] of windows.entries()) {
    if (w.k !== i) throw new Error(`stitch: window ${i} is k = ${w.k}; windows must be k = 0, 1, … in order`);
    if (w.returns.length !== w.testEnd - w.testStart) throw new Error(`stitch: window ${w.k} has ${w.returns.length} returns, its test range ${w.testStart}..${w.testEnd} has ${w.testEnd - w.testStart}`);
    if (w.testEnd >= dates.length) throw new Error(`stitch: window ${w.k} ends at bar ${w.testEnd}, beyond the ${dates.length} dates`);
    points += w.returns.length;
  }
  const equity = new Float64Array(points);
  const curveDates: string[] = [dates[windows[0]!.testStart]!];
  const trades: Array<{ pnl: number }> = [];
  let held = 0;
  let sumIs = 0;
  let sumOos = 0;
  let e = 1;
  let j = 0;
  equity[0] = e;
  for (const w of windows) {
    for (let t = 0; t < w.returns.length; t++) {
      e *= 1 + w.returns[t]!;
      equity[++j] = e;
      curveDates.push(dates[w.testStart + 1 + t]!);
    }
    for (let t = 0; t < w.tradePnl.length; t++) trades.push({ pnl: w.tradePnl[t]! });
    held += w.barsInPosition;
    sumIs += w.isSharpe;
    sumOos += w.oosSharpe;
  }
  const metrics = computeMetrics({ equity, dates: curveDates, trades, barsInPosition: held, periodsPerYear });
  const meanIsSharpe = sumIs / windows.length;
  const meanOosSharpe = sumOos / windows.length;
  return { dates: curveDates, equity, metrics, meanIsSharpe, meanOosSharpe, wfe: meanOosSharpe / meanIsSharpe };
}

export interface HindsightInput {
  open: Float64Array;
  close: Float64Array;
  dates: readonly string[];
  pairs: ReadonlyArray<readonly [number, number]>;
  /** The range [start, end] (bar indices over the full series). */
  start: number;
  end: number;
  feeBps: number;
  periodsPerYear: number;
}

export interface HindsightBest {
  /** Index of the winner in `pairs`. */
  index: number;
  fast: number;
  slow: number;
  /** Its annualised Sharpe on the range (0 without variance). */
  sharpe: number;
  totalReturn: number;
  /** Dates of bars start..end. */
  dates: string[];
  /** Its equity at every close start..end, 1.0 at the first. */
  equity: Float64Array;
}

/** The grid combination with the highest annualised Sharpe over [start, end], chosen on that range itself. */
export function hindsightBest(input: HindsightInput): HindsightBest {
  const { open, close, dates, pairs, start: a, end: b, feeBps, periodsPerYear } = input;
  const n = close.length;
  if (pairs.length === 0) throw new Error("hindsightBest: pairs is empty");
  if (!(Number.isInteger(a) && Number.isInteger(b) && a >= 0 && a < b && b < n)) {
    throw new Error(`hindsightBest: range [${a}, ${b}] must have at least 2 bars within the series' bars 0..${n - 1}`);
  }
  const emaOf = emaCache(close);
  const actions = new Int8Array(n);
  const series: RangeSeries = { open, close, dates, actions };
  const opts = { feeBps, periodsPerYear, equityBuffer: new Float64Array(b - a + 1) };
  const scratch = new Float64Array(b - a);
  const sharpes = new Float64Array(pairs.length);
  for (let i = 0; i < pairs.length; i++) {
    const [f, s] = pairs[i]!;
    emaCrossActions(emaOf(f), emaOf(s), actions);
    sharpes[i] = annualisedSharpe(backtestRange(series, a, b, opts).equity, periodsPerYear, scratch);
  }
  const index = bestIndex(sharpes);
  const [fast, slow] = pairs[index]!;
  emaCrossActions(emaOf(fast), emaOf(slow), actions);
  const bt = backtestRange(series, a, b, { feeBps, periodsPerYear });
  return { index, fast, slow, sharpe: sharpes[index]!, totalReturn: bt.metrics.total_return, dates: dates.slice(a, b + 1), equity: Float64Array.from(bt.equity) };
}
