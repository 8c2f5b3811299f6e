// Walk-forward pieces on series small enough to check by hand: the window plan (last window shorter, the
// s_k = n − 2 boundary, no window), the range backtest (a cross exactly at bar a, a signal on bar b ignored,
// a position open at b), the choice of the best (ties, NaN) and the stitching of the OOS curve.
import { describe, expect, it } from "vitest";
import { backtestRange } from "../../compute/backtest/range.ts";
import { runBacktest } from "../../compute/backtest/engine.ts";
import { computeMetrics } from "../../compute/backtest/metrics.ts";
import { emaGridPairs } from "../../compute/backtest/sweep-grid.ts";
import { ema } from "../../compute/indicators/ema.ts";
import { emaCrossActions } from "../../compute/signals/ema-cross.ts";
import { bestIndex, evaluateWindow, hindsightBest, planWindows, stitch } from "../../compute/backtest/walk-forward.ts";

describe("planWindows", () => {
  it("starts test windows at train + k·test while s_k ≤ n − 2, the last one cut by the series' end", () => {
    expect(planWindows(10, 4, 3)).toEqual([
      { k: 0, trainStart: 0, trainEnd: 3, testStart: 4, testEnd: 6 },
      { k: 1, trainStart: 3, trainEnd: 6, testStart: 7, testEnd: 9 },
    ]);
    // s_1 = 8 = n − 2: a window of 2 bars (one return), shorter than test.
    expect(planWindows(10, 4, 4)).toEqual([
      { k: 0, trainStart: 0, trainEnd: 3, testStart: 4, testEnd: 7 },
      { k: 1, trainStart: 4, trainEnd: 7, testStart: 8, testEnd: 9 },
    ]);
    // s_1 = 8 = n − 1 would be a window without a return: not planned.
    expect(planWindows(9, 4, 4)).toEqual([{ k: 0, trainStart: 0, trainEnd: 3, testStart: 4, testEnd: 7 }]);
  });

  it("plans none when train > n − 2, and refuses bad sizes naming them", () => {
    expect(planWindows(5, 4, 3)).toEqual([]);
    expect(planWindows(6, 4, 3)).toHaveLength(1);
    expect(planWindows(0, 4, 3)).toEqual([]);
    expect(() => planWindows(10, 0, 3)).toThrow("planWindows: train must be an integer ≥ 1 (got 0)");
    expect(() => planWindows(10, 4, 1.5)).toThrow("planWindows: test must be an integer ≥ 1 (got 1.5)");
  });
});

describe("backtestRange", () => {
  const open = Float64Array.from([10, 10.5, 11.5, 12.5, 13.5, 14.5]);
  const close = Float64Array.from([10, 11, 12, 13, 14, 15]);
  const dates = ["d0", "d1", "d2", "d3", "d4", "d5"];
  const series = (a: number[]) => ({ open, close, dates, actions: Int8Array.from(a) });
  const opts = { feeBps: 0, periodsPerYear: 365 };

  it("acts on a cross exactly at bar a, ignores the signal on bar b and marks the open position at b's close", () => {
    const r = backtestRange(series([0, 0, 1, 0, 0, -1]), 2, 5, opts);
    expect(Array.from(r.equity)).toEqual([1, 13 / 12.5, 14 / 12.5, 15 / 12.5]);
    expect(r.trades).toEqual([]);
    expect(r.openPosition).toMatchObject({ entryIndex: 3, entryDate: "d3", entryPrice: 12.5, markIndex: 5, markPrice: 15, markValue: 15 / 12.5 });
    expect(r.barsInPosition).toBe(3);
    expect(r.metrics.total_return).toBe(15 / 12.5 - 1);
  });

  it("closes at the next open on a sell at b − 1, with full-series trade indices and the fee per side", () => {
    const r = backtestRange(series([0, 0, 1, 0, -1, 0]), 2, 5, { feeBps: 10, periodsPerYear: 365 });
    const units = 0.999 / 12.5;
    expect(Array.from(r.equity)).toEqual([1, units * 13, units * 14, units * 14.5 * 0.999]);
    expect(r.trades).toEqual([
      { entryIndex: 3, exitIndex: 5, entryDate: "d3", exitDate: "d5", entryPrice: 12.5, exitPrice: 14.5, units, committed: 1, pnl: units * 14.5 * 0.999 - 1, ret: units * 14.5 * 0.999 - 1 },
    ]);
    expect(r.openPosition).toBeNull();
  });

  it("starts flat: a cross before bar a is not acted on", () => {
    const r = backtestRange(series([0, 1, 0, 0, 0, 0]), 2, 5, opts);
    expect(Array.from(r.equity)).toEqual([1, 1, 1, 1]);
    expect(r.openPosition).toBeNull();
  });

  it("is the engine over the subarrays of the full-history actions", () => {
    const actions = [1, 0, -1, 1, 0, 0];
    const sub = runBacktest({ open: open.slice(1, 5), close: close.slice(1, 5), dates: dates.slice(1, 5), actions: actions.slice(1, 5), feeBps: 10, periodsPerYear: 365 });
    expect(backtestRange(series(actions), 1, 4, { feeBps: 10, periodsPerYear: 365 }).metrics).toEqual(sub.metrics);
  });

  it("refuses a range outside the series", () => {
    expect(() => backtestRange(series([0, 0, 0, 0, 0, 0]), 3, 6, opts)).toThrow("backtestRange: range [3, 6] is not within the series' bars 0..5");
  });
});

describe("bestIndex", () => {
  it("takes the first in grid order tied (1e-9 relative) with the maximum; NaN never wins", () => {
    expect(bestIndex([1, 2, 2 * (1 - 5e-10), 2])).toBe(1);
    expect(bestIndex([1, 2 * (1 - 5e-10), 2])).toBe(1);
    expect(bestIndex([1, 2 * (1 - 2e-9), 2])).toBe(2);
    expect(bestIndex([Number.NaN, -1, Number.NaN, -0.5])).toBe(3);
    expect(bestIndex([Number.NaN, Number.NaN])).toBe(0);
  });
});

/** 300 bars of a rising sine (opens halfway between closes) and a small EMA grid. */
function sineMarket() {
  const n = 300;
  const close = Float64Array.from({ length: n }, (_, t) => 100 + 10 * Math.sin(t / 9) + t / 10);
  const open = Float64Array.from(close, (c, t) => (t === 0 ? c : (c + close[t - 1]!) / 2));
  const dates = Array.from({ length: n }, (_, t) => `t${t}`);
  return { open, close, dates, pairs: emaGridPairs([2, 6, 2], [5, 15, 5]) };
}

describe("evaluateWindow", () => {
  it("chooses by train Sharpe among the grid and reports that combination's test backtest", () => {
    const { open, close, dates, pairs } = sineMarket();
    const w = { k: 1, trainStart: 100, trainEnd: 199, testStart: 200, testEnd: 299 };
    const got = evaluateWindow({ open, close, dates, pairs, window: w, feeBps: 10, periodsPerYear: 365 });
    // Independently: the engine over copied slices of the full-history actions.
    const bt = ([f, s]: readonly [number, number], a: number, b: number) => {
      const actions = emaCrossActions(ema(close, f), ema(close, s));
      return runBacktest({ open: open.slice(a, b + 1), close: close.slice(a, b + 1), dates: dates.slice(a, b + 1), actions: actions.slice(a, b + 1), feeBps: 10, periodsPerYear: 365 });
    };
    // The Sharpe: 0 when the returns have no variance (the engine's metric is then 0/0).
    const sr = (m: { sharpe: number }) => (Number.isNaN(m.sharpe) ? 0 : m.sharpe);
    const sharpes = pairs.map((p) => sr(bt(p, 100, 199).metrics));
    const best = bestIndex(sharpes);
    const oos = bt(pairs[best]!, 200, 299);
    expect(got).toMatchObject({ ...w, trainStartDate: "t100", trainEndDate: "t199", testStartDate: "t200", testEndDate: "t299", fast: pairs[best]![0], slow: pairs[best]![1] });
    expect(got.isSharpe).toBeCloseTo(Math.max(...sharpes), 12);
    expect(got.oosSharpe).toBeCloseTo(sr(oos.metrics), 12);
    expect([got.oosTotalReturn, got.oosTrades, got.openAtEnd, got.barsInPosition]).toEqual([oos.metrics.total_return, oos.metrics.trades, oos.openPosition !== null, oos.barsInPosition]);
    expect(Array.from(got.returns)).toEqual(Array.from({ length: 99 }, (_, t) => oos.equity[t + 1]! / oos.equity[t]! - 1));
    expect(Array.from(got.tradePnl)).toEqual(oos.trades.map((t) => t.pnl));
  });
});

describe("stitch", () => {
  const dates = ["d0", "d1", "d2", "d3", "d4", "d5", "d6", "d7"];
  const windows = [
    { k: 0, testStart: 2, testEnd: 4, isSharpe: 2, oosSharpe: 1, returns: [0.1, -0.5], tradePnl: [0.2, -0.1], barsInPosition: 1 },
    { k: 1, testStart: 5, testEnd: 7, isSharpe: 4, oosSharpe: -0.5, returns: [1, 0], tradePnl: [0.3], barsInPosition: 2 },
  ];

  it("chains each window's own returns from 1.0, skipping the return into a later window's first bar", () => {
    const s = stitch(windows, dates, 365);
    expect(s.dates).toEqual(["d2", "d3", "d4", "d6", "d7"]);
    expect(Array.from(s.equity)).toEqual([1, 1.1, 1.1 * 0.5, 1.1 * 0.5 * 2, 1.1 * 0.5 * 2]);
    const m = computeMetrics({ equity: s.equity, dates: s.dates, trades: [{ pnl: 0.2 }, { pnl: -0.1 }, { pnl: 0.3 }], barsInPosition: 3, periodsPerYear: 365 });
    expect(s.metrics).toEqual(m);
    expect([s.metrics.trades, s.metrics.win_rate, s.metrics.exposure, s.metrics.n_returns]).toEqual([3, 2 / 3, 3 / 5, 4]);
    expect(s.metrics.profit_factor).toBeCloseTo(5, 12);
    expect(s.metrics.total_return).toBeCloseTo(0.1, 15);
    expect(s.metrics.max_drawdown_trough_date).toBe("d4");
    expect([s.meanIsSharpe, s.meanOosSharpe, s.wfe]).toEqual([3, 0.25, 0.25 / 3]);
  });

  it("refuses windows out of order or whose returns do not fill their test range", () => {
    expect(() => stitch([windows[1]!, windows[0]!], dates, 365)).toThrow("stitch: window 0 is k = 1; windows must be k = 0, 1, … in order");
    expect(() => stitch([{ ...windows[0]!, returns: [0.1] }], dates, 365)).toThrow("stitch: window 0 has 1 returns, its test range 2..4 has 2");
    expect(() => stitch([], dates, 365)).toThrow("stitch: no windows");
  });
});

describe("hindsightBest", () => {
  const { open, close, dates, pairs } = sineMarket();

  it("chooses by annualised Sharpe over the range itself and returns that combination's curve over every bar of it", () => {
    const got = hindsightBest({ open, close, dates, pairs, start: 120, end: 299, feeBps: 10, periodsPerYear: 365 });
    // Independently: the engine over copied slices of the full-history actions, on the same range.
    const bt = ([f, s]: readonly [number, number]) => {
      const actions = emaCrossActions(ema(close, f), ema(close, s));
      return runBacktest({ open: open.slice(120, 300), close: close.slice(120, 300), dates: dates.slice(120, 300), actions: actions.slice(120, 300), feeBps: 10, periodsPerYear: 365 });
    };
    const sr = (m: { sharpe: number }) => (Number.isNaN(m.sharpe) ? 0 : m.sharpe);
    const runs = pairs.map(bt);
    const sharpes = runs.map((r) => sr(r.metrics));
    const best = bestIndex(sharpes);
    expect(new Set(sharpes).size).toBeGreaterThan(1);
    expect({ index: got.index, fast: got.fast, slow: got.slow }).toEqual({ index: best, fast: pairs[best]![0], slow: pairs[best]![1] });
    expect(got.sharpe).toBeCloseTo(Math.max(...sharpes), 12);
    expect(got.totalReturn).toBe(runs[best]!.metrics.total_return);
    expect(got.dates).toEqual(dates.slice(120, 300));
    expect(Array.from(got.equity)).toEqual(Array.from(runs[best]!.equity));
    expect(got.equity[0]).toBe(1);
  });

  it("breaks ties by grid order: of equal Sharpes the first wins", () => {
    const one = hindsightBest({ open, close, dates, pairs: [[4, 10]], start: 50, end: 250, feeBps: 0, periodsPerYear: 365 });
    const got = hindsightBest({ open, close, dates, pairs: [[4, 10], [4, 10]], start: 50, end: 250, feeBps: 0, periodsPerYear: 365 });
    expect(got.index).toBe(0);
    expect(got.sharpe).toBe(one.sharpe);
  });

  it("refuses an empty grid or a range of fewer than 2 bars or outside the series", () => {
    const base = { open, close, dates, pairs, feeBps: 10, periodsPerYear: 365 };
    expect(() => hindsightBest({ ...base, pairs: [], start: 0, end: 10 })).toThrow("hindsightBest: pairs is empty");
    expect(() => hindsightBest({ ...base, start: 10, end: 10 })).toThrow("hindsightBest: range [10, 10] must have at least 2 bars within the series' bars 0..299");
    expect(() => hindsightBest({ ...base, start: 10, end: 300 })).toThrow("range [10, 300]");
  });
});
