// Backtest engine, metrics, sweep and params hash. Every expected value is computed independently here
// (explicit formulas / naive loops), never by calling the engine under test.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { runBacktest } from "../../compute/backtest/engine.ts";
import { paramsHash } from "../../compute/backtest/hash.ts";
import { computeMetrics, type BacktestMetrics } from "../../compute/backtest/metrics.ts";
import { sweepEmaCross } from "../../compute/backtest/sweep.ts";
import { emaGridPairs, parseRange } from "../../compute/backtest/sweep-grid.ts";

const REL = 1e-12;

function expectRel(actual: number, expected: number, rel = REL, label = ""): void {
  if (Number.isNaN(expected) || !Number.isFinite(expected)) {
    expect(Object.is(actual, expected), `${label}: ${actual} vs ${expected}`).toBe(true);
    return;
  }
  const tol = rel * Math.max(Math.abs(expected), Number.MIN_VALUE);
  expect(Math.abs(actual - expected) <= tol, `${label}: ${actual} vs ${expected}`).toBe(true);
}

function loadCsv(name: string) {
  const file = path.resolve(import.meta.dirname, "../../data", name);
  const rows = readFileSync(file, "utf8").trim().split(/\r?\n/);
  expect(rows[0]).toBe("date,open,high,low,close,volume");
  const body = rows.slice(1).map((l) => l.split(","));
  return {
    dates: body.map((f) => f[0]),
    open: Float64Array.from(body, (f) => Number(f[1])),
    close: Float64Array.from(body, (f) => Number(f[4])),
  };
}

/** Independent SMA-seeded EMA (plain arrays, explicit loops). */
function naiveEma(x: ArrayLike<number>, p: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < x.length; i++) out.push(NaN);
  if (x.length < p) return out;
  let s = 0;
  for (let i = 0; i < p; i++) s += x[i];
  out[p - 1] = s / p;
  const a = 2 / (p + 1);
  for (let i = p; i < x.length; i++) out[i] = a * x[i] + (1 - a) * out[i - 1];
  return out;
}

/** Independent crossover detection via an explicit "was above / is above" state. */
function naiveCrossActions(f: number[], s: number[]): number[] {
  const out = f.map(() => 0);
  for (let t = 1; t < f.length; t++) {
    const defined = [f[t - 1], s[t - 1], f[t], s[t]].every((v) => !Number.isNaN(v));
    if (!defined) continue;
    if (f[t] > s[t] && !(f[t - 1] > s[t - 1])) out[t] = 1;
    if (f[t] < s[t] && !(f[t - 1] < s[t - 1])) out[t] = -1;
  }
  return out;
}

/** Independent all-in long-only simulation: fill at next open, multiplicative fees. */
function naiveSimulate(open: ArrayLike<number>, close: ArrayLike<number>, actions: number[], feeBps: number) {
  const fee = feeBps / 10000;
  const equity: number[] = [];
  const pnls: number[] = [];
  let cash = 1;
  let units = 0;
  let inPos = false;
  let stake = 0;
  let held = 0;
  for (let t = 0; t < close.length; t++) {
    const sig = t > 0 ? actions[t - 1] : 0;
    if (sig === 1 && !inPos) {
      stake = cash;
      units = (cash * (1 - fee)) / open[t];
      cash = 0;
      inPos = true;
    } else if (sig === -1 && inPos) {
      cash = units * open[t] * (1 - fee);
      pnls.push(cash - stake);
      units = 0;
      inPos = false;
    }
    equity.push(inPos ? units * close[t] : cash);
    if (inPos) held++;
  }
  return { equity, pnls, held, openAtEnd: inPos };
}

/** Straightforward metric definitions with explicit loops. */
function naiveMetrics(E: number[], pnls: number[], held: number, P: number) {
  const r: number[] = [];
  for (let t = 1; t < E.length; t++) r.push(E[t] / E[t - 1] - 1);
  const N = r.length;
  let mean = 0;
  for (const x of r) mean += x;
  mean /= N;
  let v = 0;
  for (const x of r) v += (x - mean) ** 2;
  const std = Math.sqrt(v / (N - 1));
  let dsq = 0;
  for (const x of r) if (x < 0) dsq += x * x;
  const dd = Math.sqrt(dsq / N);
  const total = E[E.length - 1] / E[0] - 1;
  const cagr = (E[E.length - 1] / E[0]) ** (1 / (N / P)) - 1;
  let maxDd = 0;
  let trough = 0;
  for (let t = 0; t < E.length; t++) {
    let pk = -Infinity;
    for (let i = 0; i <= t; i++) pk = Math.max(pk, E[i]);
    const d = 1 - E[t] / pk;
    if (d > maxDd) {
      maxDd = d;
      trough = t;
    }
  }
  let pkVal = -Infinity;
  for (let i = 0; i <= trough; i++) pkVal = Math.max(pkVal, E[i]);
  const peak = E.findIndex((x) => x === pkVal);
  const sorted = [...r].sort((a, b) => a - b);
  const h = (N - 1) * 0.05;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, N - 1);
  const a = sorted[lo];
  const b = sorted[hi];
  const frac = h - lo;
  // numpy's _lerp (linear method): a + (b−a)·t, or b − (b−a)·(1−t) for t ≥ 0.5
  const q = frac >= 0.5 ? b - (b - a) * (1 - frac) : a + (b - a) * frac;
  const k = lo + 1;
  let tail = 0;
  for (let i = 0; i < k; i++) tail += sorted[i];
  const wins = pnls.filter((p) => p > 0);
  const losses = pnls.filter((p) => p < 0);
  const gw = wins.reduce((a, b) => a + b, 0);
  const gl = losses.reduce((a, b) => a + b, 0);
  return {
    total_return: total,
    cagr,
    sharpe: (mean / std) * Math.sqrt(P),
    sortino: (mean / dd) * Math.sqrt(P),
    max_drawdown: maxDd,
    max_drawdown_peak_index: peak,
    max_drawdown_trough_index: trough,
    calmar: cagr / maxDd,
    var_95: -q,
    cvar_95: -(tail / k),
    win_rate: wins.length / pnls.length,
    profit_factor: gw / Math.abs(gl),
    trades: pnls.length,
    exposure: held / E.length,
  };
}

const DATES6 = ["d0", "d1", "d2", "d3", "d4", "d5"];
const OPEN6 = [100, 110, 120, 130, 140, 150];
const CLOSE6 = [105, 115, 125, 135, 145, 155];
const FEE = 10 / 10000;

function run6(actions: number[], extra: Partial<Parameters<typeof runBacktest>[0]> = {}) {
  return runBacktest({ open: OPEN6, close: CLOSE6, dates: DATES6, actions, periodsPerYear: 365, ...extra });
}

describe("runBacktest — hand-built series", () => {
  it("fills at the next open with multiplicative fees on both sides; last-bar signal ignored", () => {
    const res = run6([1, 0, -1, 0, 0, 1]);
    const units = (1 * (1 - FEE)) / 110; // buy signal at bar 0 → open of bar 1
    const cash = units * 130 * (1 - FEE); // sell signal at bar 2 → open of bar 3
    const expected = [1, units * 115, units * 125, cash, cash, cash];
    expected.forEach((e, t) => expectRel(res.equity[t], e, REL, `equity[${t}]`));
    expect(res.trades).toHaveLength(1);
    const tr = res.trades[0];
    expect([tr.entryIndex, tr.exitIndex, tr.entryDate, tr.exitDate]).toEqual([1, 3, "d1", "d3"]);
    expect([tr.entryPrice, tr.exitPrice]).toEqual([110, 130]);
    expectRel(tr.units, units);
    expectRel(tr.pnl, cash - 1);
    expectRel(tr.ret, cash - 1);
    expect(res.openPosition).toBeNull(); // the buy on the last bar never fills
    expect(res.metrics.trades).toBe(1);
    expectRel(res.metrics.exposure, 2 / 6);
    expectRel(res.metrics.total_return, cash - 1);
  });

  it("ignores a sell while flat and a buy while long", () => {
    const res = run6([-1, 1, 1, -1, -1, 0]);
    const units = (1 - FEE) / 120;
    const cash = units * 140 * (1 - FEE);
    [1, 1, units * 125, units * 135, cash, cash].forEach((e, t) => expectRel(res.equity[t], e, REL, `equity[${t}]`));
    expect(res.trades.map((t) => [t.entryIndex, t.exitIndex])).toEqual([[2, 4]]);
    expect(res.barsInPosition).toBe(2);
  });

  it("marks an open position at the last close without exit fee and does not count it", () => {
    const res = run6([0, 0, 1, 0, 0, 0]);
    const units = (1 - FEE) / 130;
    [1, 1, 1, units * 135, units * 145, units * 155].forEach((e, t) => expectRel(res.equity[t], e));
    expect(res.trades).toEqual([]);
    expect(res.openPosition).not.toBeNull();
    const op = res.openPosition!;
    expect([op.entryIndex, op.entryDate, op.entryPrice, op.markIndex, op.markPrice]).toEqual([3, "d3", 130, 5, 155]);
    expectRel(op.markValue, units * 155);
    expectRel(op.unrealizedPnl, units * 155 - 1);
    expect(res.metrics.trades).toBe(0);
    expect(res.metrics.win_rate).toBeNaN();
    expect(res.metrics.profit_factor).toBeNaN();
    expectRel(res.metrics.total_return, units * 155 - 1);
    expectRel(res.metrics.exposure, 3 / 6);
  });

  it("applies slippage against the trade and fixed-fraction sizing keeps the rest in cash", () => {
    const fee = 25 / 10000;
    const slip = 50 / 10000;
    const res = run6([1, 0, 0, -1, 0, 0], { feeBps: 25, slippageBps: 50, sizing: { kind: "fixed_fraction", fraction: 0.5 } });
    const buyPx = 110 * (1 + slip);
    const units = (0.5 * (1 - fee)) / buyPx;
    const sellPx = 140 * (1 - slip);
    const proceeds = units * sellPx * (1 - fee);
    const expected = [1, 0.5 + units * 115, 0.5 + units * 125, 0.5 + units * 135, 0.5 + proceeds, 0.5 + proceeds];
    expected.forEach((e, t) => expectRel(res.equity[t], e, REL, `equity[${t}]`));
    const tr = res.trades[0];
    expectRel(tr.entryPrice, buyPx);
    expectRel(tr.exitPrice, sellPx);
    expectRel(tr.committed, 0.5);
    expectRel(tr.pnl, proceeds - 0.5);
    expectRel(tr.ret, (proceeds - 0.5) / 0.5);
  });

  it("compounds across round trips and keeps the final open position separate", () => {
    const res = run6([1, -1, 1, -1, 1, 0]);
    const u1 = (1 - FEE) / 110;
    const c1 = u1 * 120 * (1 - FEE);
    const u2 = (c1 * (1 - FEE)) / 130;
    const c2 = u2 * 140 * (1 - FEE);
    const u3 = (c2 * (1 - FEE)) / 150;
    [1, u1 * 115, c1, u2 * 135, c2, u3 * 155].forEach((e, t) => expectRel(res.equity[t], e, REL, `equity[${t}]`));
    expect(res.trades.map((t) => t.pnl > 0)).toEqual([true, true]);
    expectRel(res.trades[1].pnl, c2 - c1);
    expect(res.openPosition?.entryIndex).toBe(5);
    expect(res.metrics.win_rate).toBe(1);
    expect(res.metrics.profit_factor).toBe(Infinity); // no losing trade
  });

  it("rejects malformed input", () => {
    expect(() => run6([1, 0, 0])).toThrow(/lengths differ/);
    expect(() => run6([0, 0, 0, 0, 0, 0], { feeBps: -1 })).toThrow(/feeBps/);
    expect(() => run6([0, 0, 0, 0, 0, 0], { sizing: { kind: "fixed_fraction", fraction: 1.5 } })).toThrow(/fraction/);
    expect(() => runBacktest({ open: [], close: [], dates: [], actions: [], periodsPerYear: 365 })).toThrow();
  });
});

describe("metrics — zero denominators stay NaN / Infinity", () => {
  const m = (equity: number[], pnls: number[] = [], held = 0): BacktestMetrics =>
    computeMetrics({ equity, trades: pnls.map((pnl) => ({ pnl })), barsInPosition: held, periodsPerYear: 365 });

  it("flat equity and no trades", () => {
    const r = m([1, 1, 1, 1]);
    expect(r.sharpe).toBeNaN(); // 0 / 0
    expect(r.sortino).toBeNaN();
    expect(r.calmar).toBeNaN(); // cagr 0 / drawdown 0
    expect(r.win_rate).toBeNaN();
    expect(r.profit_factor).toBeNaN();
    expect([r.total_return, r.cagr, r.max_drawdown, r.var_95, r.cvar_95, r.trades, r.exposure]).toEqual([0, 0, 0, 0, 0, 0, 0]);
    expect(Object.is(r.var_95, 0) && Object.is(r.cvar_95, 0)).toBe(true); // +0, not -0
  });

  it("constant positive return: std 0 and no downside or drawdown give +Infinity", () => {
    const r = m([1, 2, 4, 8], [7], 3);
    expect(r.sharpe).toBe(Infinity);
    expect(r.sortino).toBe(Infinity);
    expect(r.calmar).toBe(Infinity);
    expect(r.profit_factor).toBe(Infinity);
    expect(r.win_rate).toBe(1);
    expect(r.max_drawdown_peak_index).toBe(0);
    expect(r.max_drawdown_trough_index).toBe(0);
  });

  it("only losing trades give profit factor 0; a single bar gives NaN statistics", () => {
    expect(m([1, 0.5, 0.25], [-0.75]).profit_factor).toBe(0);
    const one = m([1]);
    expect(one.n_returns).toBe(0);
    for (const k of ["cagr", "sharpe", "sortino", "var_95", "cvar_95", "calmar"] as const) expect(one[k]).toBeNaN();
    expect(one.total_return).toBe(0);
  });

  it("a NaN equity value makes return statistics NaN", () => {
    const r = m([1, 1.1, NaN, 1.2]);
    expect(r.sharpe).toBeNaN();
    expect(r.var_95).toBeNaN();
    expect(r.max_drawdown).toBeNaN();
  });

  it("drawdown: first bar of a flat high is the peak, first trough wins", () => {
    const r = computeMetrics({ equity: [1, 2, 2, 1, 2, 1, 3], dates: ["a", "b", "c", "d", "e", "f", "g"], trades: [], barsInPosition: 0, periodsPerYear: 252 });
    expect(r.max_drawdown).toBe(0.5);
    expect([r.max_drawdown_peak_index, r.max_drawdown_trough_index]).toEqual([1, 3]);
    expect([r.max_drawdown_peak_date, r.max_drawdown_trough_date]).toEqual(["b", "d"]);
  });

  it("tail selection equals a full sort for many lengths with ties", () => {
    let seed = 12345;
    const rnd = () => {
      // mulberry32
      seed = (seed + 0x6d2b79f5) | 0;
      let x = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
      return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
    };
    for (let n = 2; n <= 400; n += 7) {
      const eq = [1];
      for (let i = 1; i < n; i++) {
        const u = rnd();
        eq.push(eq[i - 1] * (u < 0.4 ? 1 : 1 + (rnd() - 0.5) * 0.1)); // 40% exact-zero returns
      }
      const got = m(eq);
      const want = naiveMetrics(eq, [], 0, 365);
      expectRel(got.var_95, want.var_95, 1e-12, `var n=${n}`);
      expectRel(got.cvar_95, want.cvar_95, 1e-12, `cvar n=${n}`);
    }
  });
});

describe("BTC daily, EMA 9/21 crossover, 10 bps, P = 365", () => {
  const btc = loadCsv("BTC-USD_daily.csv");
  const actions = naiveCrossActions(naiveEma(btc.close, 9), naiveEma(btc.close, 21));
  const run = () => runBacktest({ ...btc, actions: Int8Array.from(actions), feeBps: 10, periodsPerYear: 365 });
  const res = run();
  const ref = naiveSimulate(btc.open, btc.close, actions, 10);

  it("matches an independent simulation bar by bar", () => {
    expect(btc.close.length).toBe(2982);
    for (let t = 0; t < ref.equity.length; t++) expectRel(res.equity[t], ref.equity[t], REL, `equity[${t}]`);
    expect(res.trades.length).toBe(ref.pnls.length);
    res.trades.forEach((tr, i) => expectRel(tr.pnl, ref.pnls[i], 1e-10, `pnl[${i}]`));
    expect(res.openPosition !== null).toBe(ref.openAtEnd);
  });

  it("every metric matches the straightforward implementation", () => {
    const want = naiveMetrics(ref.equity, ref.pnls, ref.held, 365);
    for (const [k, v] of Object.entries(want)) expectRel(res.metrics[k as keyof BacktestMetrics] as number, v, REL, k);
    expect(res.metrics.max_drawdown_peak_date).toBe(btc.dates[want.max_drawdown_peak_index]);
    expect(res.metrics.max_drawdown_trough_date).toBe(btc.dates[want.max_drawdown_trough_index]);
    console.log("BTC EMA 9/21 metrics", JSON.stringify(res.metrics));
  });

  it("is deterministic: two runs give bit-identical metrics and equity", () => {
    const again = run();
    for (const k of Object.keys(res.metrics) as (keyof BacktestMetrics)[]) {
      expect(Object.is(again.metrics[k], res.metrics[k]), k).toBe(true);
    }
    expect(Buffer.from(again.equity.buffer).equals(Buffer.from(res.equity.buffer))).toBe(true);
  });
});

describe("sweep", () => {
  it("parseRange accepts LO..HI and LO..HI:STEP and names the flag on errors", () => {
    expect(parseRange("5..50", "--fast")).toEqual([5, 50, 1]);
    expect(parseRange("5..50:5", "--fast")).toEqual([5, 50, 5]);
    expect(parseRange("9", "--fast")).toEqual([9, 9, 1]);
    expect(() => parseRange("50..5", "--fast")).toThrow(/--fast.*lo > hi.*"50\.\.5"/);
    expect(() => parseRange("5.5..10", "--slow")).toThrow(/--slow.*non-integer.*"5\.5\.\.10"/);
    expect(() => parseRange("5..10:0", "--slow")).toThrow(/--slow.*step must be > 0/);
    expect(() => parseRange("5..10:-2", "--slow")).toThrow(/--slow.*step/);
    expect(() => parseRange("abc", "--fast")).toThrow(/--fast.*"abc"/);
    expect(() => emaGridPairs([50, 60, 1], [5, 10, 1])).toThrow(/--fast\/--slow: empty grid/);
  });

  it("evaluates only fast < slow, computes each EMA once and matches single backtests", () => {
    const btc = loadCsv("BTC-USD_daily.csv");
    const emaCache = new Map<number, Float64Array>();
    const rows = sweepEmaCross({ ...btc, fastRange: [5, 25, 10], slowRange: [10, 30, 10], feeBps: 10, periodsPerYear: 365, emaCache });
    expect(rows.map((r) => [r.fast, r.slow])).toEqual([[5, 10], [5, 20], [5, 30], [15, 20], [15, 30], [25, 30]]);
    expect([...emaCache.keys()].sort((a, b) => a - b)).toEqual([5, 10, 15, 20, 25, 30]);
    for (const row of rows) {
      const acts = naiveCrossActions(naiveEma(btc.close, row.fast), naiveEma(btc.close, row.slow));
      const ref = naiveSimulate(btc.open, btc.close, acts, 10);
      const want = naiveMetrics(ref.equity, ref.pnls, ref.held, 365);
      expectRel(row.sharpe, want.sharpe, 1e-10, `sharpe ${row.fast}/${row.slow}`);
      expectRel(row.total_return, want.total_return, 1e-10);
      expectRel(row.max_drawdown, want.max_drawdown, 1e-10);
      expect(row.trades).toBe(want.trades);
    }
  });
});

describe("paramsHash", () => {
  it("is SHA-256 of recursively key-sorted JSON, first 16 hex", () => {
    const canonical = '{"a":1,"b":{"c":[2,{"x":1,"y":2}],"d":"z"}}';
    const want = createHash("sha256").update(canonical).digest("hex").slice(0, 16);
    expect(paramsHash({ b: { d: "z", c: [2, { y: 2, x: 1 }] }, a: 1 })).toBe(want);
    expect(paramsHash({ a: 1, b: { c: [2, { x: 1, y: 2 }], d: "z" } })).toBe(want);
    expect(paramsHash({ a: [1, 2] })).not.toBe(paramsHash({ a: [2, 1] }));
    expect(paramsHash({ a: 1, u: undefined })).toBe(paramsHash({ a: 1 }));
    expect(() => paramsHash({ a: NaN })).toThrow(/params\.a/);
  });
});
