import { describe, it, expect } from "vitest";
import fs from "node:fs";
import path from "node:path";
import * as TI from "technicalindicators";
import { ema, emaDerivatives, EMA_PERIODS } from "../../compute/indicators/ema.ts";
import { returns, RETURN_LOOKBACKS } from "../../compute/indicators/returns.ts";
import { garmanKlassVariance, parkinsonVariance, rangeVariances, rogersSatchellVariance, rollingAnnualisedVol } from "../../compute/indicators/volatility.ts";
import { atr, trueRange } from "../../compute/indicators/atr.ts";
import { rsi } from "../../compute/indicators/rsi.ts";
import { macd } from "../../compute/indicators/macd.ts";
import { stochastic } from "../../compute/indicators/stochastic.ts";
import { bollinger } from "../../compute/indicators/bollinger.ts";
import { adx } from "../../compute/indicators/adx.ts";
import { outlierFlagsIQR, outlierFlagsZScore, quantileLinear, rollingMeanStd, rollingZScore } from "../../compute/indicators/stats.ts";
import { computeAllIndicators, FEATURE_COLUMNS } from "../../compute/indicators/catalog.ts";

// ------------------------------------------------------------------------------------------------------------
// helpers
// ------------------------------------------------------------------------------------------------------------

interface Csv {
  dates: string[];
  open: Float64Array;
  high: Float64Array;
  low: Float64Array;
  close: Float64Array;
  volume: Float64Array;
}

const DATA_DIR = path.resolve(import.meta.dirname, "../../data");

function loadCsv(name: string): Csv {
  let file = path.join(DATA_DIR, name);
  if (!fs.existsSync(file)) file = path.join("/work/shared/data", name); // before the data copy lands
  const lines = fs.readFileSync(file, "utf8").trim().split(/\r?\n/);
  if (lines[0] !== "date,open,high,low,close,volume") throw new Error(`${file}: unexpected header ${lines[0]}`);
  const n = lines.length - 1;
  const out: Csv = { dates: [], open: new Float64Array(n), high: new Float64Array(n), low: new Float64Array(n), close: new Float64Array(n), volume: new Float64Array(n) };
  for (let i = 0; i < n; i++) {
    const [d, o, h, l, c, v] = lines[i + 1].split(",");
    out.dates.push(d);
    out.open[i] = Number(o);
    out.high[i] = Number(h);
    out.low[i] = Number(l);
    out.close[i] = Number(c);
    out.volume[i] = Number(v);
  }
  return out;
}

const BTC = loadCsv("BTC-USD_daily.csv");
const SYNTH = loadCsv("SYNTH_daily.csv");

const nanArr = (n: number) => new Array<number>(n).fill(NaN);

function firstDefined(a: ArrayLike<number>): number {
  for (let i = 0; i < a.length; i++) if (!Number.isNaN(a[i])) return i;
  return -1;
}

/**
 * NaN positions must match exactly; elsewhere |a − e| ≤ rel · max(|e|, scale[t]). `scale` is the magnitude of
 * the inputs the value is computed from (price for price-unit outputs, 100 for oscillators), so values that
 * cross zero (MACD, d1, returns) are compared at the precision their inputs allow.
 */
function expectSeriesClose(name: string, actual: ArrayLike<number>, expected: ArrayLike<number>, opts: { rel?: number; abs?: number; scale?: number | ArrayLike<number> } = {}): void {
  const rel = opts.rel ?? 1e-9;
  const abs = opts.abs ?? 0;
  expect(actual.length, `${name}: length`).toBe(expected.length);
  const bad: string[] = [];
  for (let t = 0; t < expected.length; t++) {
    const a = actual[t];
    const e = expected[t];
    if (Number.isNaN(e) || Number.isNaN(a)) {
      if (Number.isNaN(e) !== Number.isNaN(a)) bad.push(`[${t}] got ${a} want ${e}`);
      continue;
    }
    const s = opts.scale === undefined ? 0 : typeof opts.scale === "number" ? opts.scale : Math.abs(opts.scale[t]);
    const tol = abs + rel * Math.max(Math.abs(e), s);
    if (!(Math.abs(a - e) <= tol)) bad.push(`[${t}] got ${a} want ${e} (diff ${Math.abs(a - e)})`);
    if (bad.length > 5) break;
  }
  expect(bad, `${name}: mismatches`).toEqual([]);
}

/** technicalindicators returns only defined values: right-align them on an n-length NaN array. */
function alignTi(n: number, values: ArrayLike<number | undefined>): Float64Array {
  const out = new Float64Array(n).fill(NaN);
  const off = n - values.length;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    out[off + i] = v === undefined ? NaN : v;
  }
  return out;
}

// ------------------------------------------------------------------------------------------------------------
// naive reference implementations (straightforward loops, O(n·w), written independently of the library)
// ------------------------------------------------------------------------------------------------------------

function refEma(x: ArrayLike<number>, p: number): number[] {
  const n = x.length;
  const out = nanArr(n);
  const a = 2 / (p + 1);
  let start = -1;
  for (let i = 0; i + p <= n && start < 0; i++) {
    let ok = true;
    for (let j = i; j < i + p; j++) if (Number.isNaN(x[j])) ok = false;
    if (ok) start = i;
  }
  if (start < 0) return out;
  let s = 0;
  for (let j = start; j < start + p; j++) s += x[j];
  let prev = s / p;
  out[start + p - 1] = prev;
  for (let t = start + p; t < n; t++) {
    if (Number.isNaN(x[t])) continue;
    prev = a * x[t] + (1 - a) * prev;
    out[t] = prev;
  }
  return out;
}

function refTr(h: ArrayLike<number>, l: ArrayLike<number>, c: ArrayLike<number>): number[] {
  const out = nanArr(h.length);
  for (let t = 1; t < h.length; t++) out[t] = Math.max(h[t] - l[t], Math.abs(h[t] - c[t - 1]), Math.abs(l[t] - c[t - 1]));
  return out;
}

function refWilder(x: number[], p: number, firstIdx: number): number[] {
  // mean of x[firstIdx..firstIdx+p−1] at firstIdx+p−1, then (prev·(p−1) + x)/p
  const out = nanArr(x.length);
  const seedAt = firstIdx + p - 1;
  if (seedAt >= x.length) return out;
  let s = 0;
  for (let j = firstIdx; j <= seedAt; j++) s += x[j];
  out[seedAt] = s / p;
  for (let t = seedAt + 1; t < x.length; t++) out[t] = out[t - 1] - out[t - 1] / p + x[t] / p;
  return out;
}

function refAtr(h: ArrayLike<number>, l: ArrayLike<number>, c: ArrayLike<number>, p: number): number[] {
  return refWilder(refTr(h, l, c), p, 1);
}

function refRsi(c: ArrayLike<number>, p: number): number[] {
  const n = c.length;
  const gains = nanArr(n);
  const losses = nanArr(n);
  for (let t = 1; t < n; t++) {
    gains[t] = Math.max(c[t] - c[t - 1], 0);
    losses[t] = Math.max(c[t - 1] - c[t], 0);
  }
  const ag = refWilder(gains, p, 1);
  const al = refWilder(losses, p, 1);
  return ag.map((g, t) => (Number.isNaN(g) ? NaN : g + al[t] === 0 ? 0 : 100 - 100 / (1 + g / al[t])));
}

function refMacd(c: ArrayLike<number>, f: number, s: number, sig: number) {
  const ef = refEma(c, f);
  const es = refEma(c, s);
  const line = ef.map((v, t) => v - es[t]);
  const signal = refEma(line, sig);
  return { macd: line, signal, hist: line.map((v, t) => v - signal[t]) };
}

function refStoch(h: ArrayLike<number>, l: ArrayLike<number>, c: ArrayLike<number>, p: number, dp: number) {
  const n = c.length;
  const k = nanArr(n);
  const d = nanArr(n);
  for (let t = p - 1; t < n; t++) {
    let hh = -Infinity;
    let ll = Infinity;
    for (let j = t - p + 1; j <= t; j++) {
      hh = Math.max(hh, h[j]);
      ll = Math.min(ll, l[j]);
    }
    k[t] = hh === ll ? NaN : (100 * (c[t] - ll)) / (hh - ll);
  }
  for (let t = p - 1 + dp - 1; t < n; t++) {
    let s = 0;
    for (let j = t - dp + 1; j <= t; j++) s += k[j];
    d[t] = s / dp;
  }
  return { k, d };
}

function refMeanStd(x: ArrayLike<number>, w: number, ddof: number) {
  const n = x.length;
  const mean = nanArr(n);
  const std = nanArr(n);
  for (let t = w - 1; t < n; t++) {
    let s = 0;
    for (let j = t - w + 1; j <= t; j++) s += x[j];
    const m = s / w;
    let ss = 0;
    for (let j = t - w + 1; j <= t; j++) ss += (x[j] - m) ** 2;
    if (Number.isNaN(m)) continue;
    mean[t] = m;
    std[t] = Math.sqrt(ss / (w - ddof));
  }
  return { mean, std };
}

function refBollinger(c: ArrayLike<number>, p: number, k: number) {
  const { mean, std } = refMeanStd(c, p, 0);
  const upper = mean.map((m, t) => m + k * std[t]);
  const lower = mean.map((m, t) => m - k * std[t]);
  return {
    mid: mean,
    upper,
    lower,
    bandwidth: mean.map((m, t) => (upper[t] - lower[t]) / m),
    pctB: mean.map((_, t) => (upper[t] === lower[t] ? NaN : (c[t] - lower[t]) / (upper[t] - lower[t]))),
  };
}

function refAdx(h: ArrayLike<number>, l: ArrayLike<number>, c: ArrayLike<number>, p: number) {
  const n = c.length;
  const tr = refTr(h, l, c);
  const pdm = nanArr(n);
  const mdm = nanArr(n);
  for (let t = 1; t < n; t++) {
    const up = h[t] - h[t - 1];
    const dn = l[t - 1] - l[t];
    pdm[t] = up > dn && up > 0 ? up : 0;
    mdm[t] = dn > up && dn > 0 ? dn : 0;
  }
  const smooth = (x: number[]) => {
    const o = nanArr(n);
    if (p >= n) return o;
    let s = 0;
    for (let j = 1; j <= p; j++) s += x[j];
    o[p] = s;
    for (let t = p + 1; t < n; t++) o[t] = o[t - 1] - o[t - 1] / p + x[t];
    return o;
  };
  const str = smooth(tr);
  const sp = smooth(pdm);
  const sm = smooth(mdm);
  const pdi = str.map((s, t) => (Number.isNaN(s) ? NaN : s === 0 ? 0 : (100 * sp[t]) / s));
  const mdi = str.map((s, t) => (Number.isNaN(s) ? NaN : s === 0 ? 0 : (100 * sm[t]) / s));
  const dx = pdi.map((v, t) => (Number.isNaN(v) ? NaN : v + mdi[t] === 0 ? 0 : (100 * Math.abs(v - mdi[t])) / (v + mdi[t])));
  return { plusDi: pdi, minusDi: mdi, adx: refWilder(dx, p, p) };
}

function refRollingVol(v: ArrayLike<number>, P: number, w: number): number[] {
  const out = nanArr(v.length);
  for (let t = w - 1; t < v.length; t++) {
    let s = 0;
    for (let j = t - w + 1; j <= t; j++) s += v[j];
    out[t] = Math.sqrt((P * s) / w);
  }
  return out;
}

// ------------------------------------------------------------------------------------------------------------
// hand-computed conventions
// ------------------------------------------------------------------------------------------------------------

describe("ema (TA-Lib seeding)", () => {
  it("seeds with the SMA at index N−1 and recurses with α = 2/(N+1)", () => {
    const e = ema([1, 2, 3, 4, 5, 6], 3); // α = 0.5, seed (1+2+3)/3 = 2
    expect(firstDefined(e)).toBe(2);
    expect(Array.from(e)).toEqual([NaN, NaN, 2, 3, 4, 5]);
    const e2 = ema([10, 20, 30, 40], 2); // α = 2/3, seed 15 at 1; 15 + 2/3·15 = 25; 25 + 2/3·15 = 35
    expect(e2[1]).toBe(15);
    expect(e2[2]).toBeCloseTo(25, 12);
    expect(e2[3]).toBeCloseTo(35, 12);
  });
  it("period 1 is the identity", () => {
    expect(Array.from(ema([3, 1, 4], 1))).toEqual([3, 1, 4]);
  });
  it("skips leading NaNs and seeds on the first run of N defined values", () => {
    expect(Array.from(ema([NaN, NaN, 1, 2, 3, 4], 3))).toEqual([NaN, NaN, NaN, NaN, 2, 3]);
    // NaN inside the seed window restarts the seed: run 2,3,4 → seed 3 at index 4
    expect(Array.from(ema([1, NaN, 2, 3, 4, 5], 3))).toEqual([NaN, NaN, NaN, NaN, 3, 4]);
    // NaN after seeding: NaN at that bar, state carried over
    expect(Array.from(ema([1, 2, 3, NaN, 5], 3))).toEqual([NaN, NaN, 2, NaN, 3.5]);
  });
  it("is all NaN when there are fewer than N defined values", () => {
    expect(firstDefined(ema([1, 2], 3))).toBe(-1);
    expect(ema([], 3).length).toBe(0);
  });
  it("rejects bad periods", () => {
    expect(() => ema([1, 2, 3], 0)).toThrow(RangeError);
    expect(() => ema([1, 2, 3], 2.5)).toThrow(RangeError);
  });
  it("derivative columns are backward differences", () => {
    const close = [1, 2, 3, 4, 6, 5];
    const e = ema(close, 3); // [NaN, NaN, 2, 3, 4.5, 4.75]
    expect(Array.from(e)).toEqual([NaN, NaN, 2, 3, 4.5, 4.75]);
    const d = emaDerivatives(close, e);
    expect(Array.from(d.d1)).toEqual([NaN, NaN, NaN, 1, 1.5, 0.25]);
    expect(Array.from(d.d2)).toEqual([NaN, NaN, NaN, NaN, 0.5, -1.25]);
    expect(Array.from(d.d1_close)).toEqual([NaN, NaN, 1, 1, 1.5, 0.25]);
    expect(Array.from(d.d2_close)).toEqual([NaN, NaN, NaN, 0, 0.5, -1.25]);
  });
});

describe("returns", () => {
  it("pct and log with a k-bar NaN warm-up", () => {
    const r1 = returns([100, 110, 121], 1);
    expect(r1.pct[0]).toBeNaN();
    expect(r1.pct[1]).toBeCloseTo(0.1, 14);
    expect(r1.pct[2]).toBeCloseTo(0.1, 14);
    expect(r1.log[2]).toBeCloseTo(Math.log(1.1), 14);
    const r2 = returns([100, 110, 121], 2);
    expect(firstDefined(r2.pct)).toBe(2);
    expect(r2.pct[2]).toBeCloseTo(0.21, 14);
    expect(r2.log[2]).toBeCloseTo(2 * Math.log(1.1), 14);
    expect(firstDefined(returns([1, 2], 5).pct)).toBe(-1);
  });
  it("lookback list is frozen and ordered", () => {
    expect(RETURN_LOOKBACKS).toEqual([1, 2, 3, 5, 7, 10, 14, 21, 30, 60, 90, 180, 365]);
    expect(Object.isFrozen(RETURN_LOOKBACKS)).toBe(true);
  });
});

describe("volatility estimators", () => {
  it("per-bar variances by hand", () => {
    // O=100 H=110 L=90 C=105: ln(H/L)=0.2006706954621511, ln(C/O)=0.04879016416943205
    const hl = 0.2006706954621511;
    const co = 0.04879016416943205;
    expect(parkinsonVariance([110], [90])[0]).toBeCloseTo((hl * hl) / (4 * Math.LN2), 15);
    expect(parkinsonVariance([110], [90])[0]).toBeCloseTo(0.0145238736, 9);
    expect(garmanKlassVariance([100], [110], [90], [105])[0]).toBeCloseTo(0.5 * hl * hl - (2 * Math.LN2 - 1) * co * co, 15);
    // RS = ln(110/105)ln(110/100) + ln(90/105)ln(90/100)
    expect(rogersSatchellVariance([100], [110], [90], [105])[0]).toBeCloseTo(0.04652001563489282 * 0.09531017980432493 + -0.15415067982725836 * -0.10536051565782628, 15);
    // a bar with H = L = O = C has zero variance everywhere
    expect(parkinsonVariance([5], [5])[0]).toBe(0);
    expect(rogersSatchellVariance([5], [5], [5], [5])[0]).toBe(0);
  });
  it("rolling annualised vol = sqrt(P·mean(last w variances)), first at w−1", () => {
    const v = rollingAnnualisedVol([1, 2, 3, 4, 5], 4, 3);
    expect(firstDefined(v)).toBe(2);
    expect(v[2]).toBeCloseTo(Math.sqrt(8), 14);
    expect(v[3]).toBeCloseTo(Math.sqrt(12), 14);
    expect(v[4]).toBeCloseTo(4, 14);
    expect(firstDefined(rollingAnnualisedVol(new Float64Array(40).fill(1e-4), 365))).toBe(19);
    const withNan = rollingAnnualisedVol([1, NaN, 1, 1, 1, 1], 1, 2);
    expect(Array.from(withNan)).toEqual([NaN, NaN, NaN, 1, 1, 1]);
  });
});

describe("rolling vol re-sums", () => {
  it("stays exact when a crash-day variance leaves a calm window, at every re-sum phase", () => {
    for (let at = 300; at < 320; at++) {
      const v = Array.from({ length: 600 }, (_, t) => (t === at ? 0.25 : 1e-8 * (1 + 0.5 * Math.sin(t))));
      expectSeriesClose(`spike@${at}`, rollingAnnualisedVol(v, 365), refRollingVol(v, 365, 20), { rel: 1e-12 });
    }
  });
});

describe("ATR (Wilder)", () => {
  const H = [10, 12, 11, 13, 14, 12];
  const L = [8, 9, 9, 10, 12, 10];
  const C = [9, 11, 10, 12, 13, 11];
  it("true range from bar 1", () => {
    // t1: max(3, |12−9|, |9−9|)=3; t2: max(2, 0, 2)=2; t3: max(3, 3, 0)=3; t4: max(2, 2, 0)=2; t5: max(2, 1, 3)=3
    expect(Array.from(trueRange(H, L, C))).toEqual([NaN, 3, 2, 3, 2, 3]);
  });
  it("seed = mean(TR[1..p]) at bar p, then (prev·(p−1)+TR)/p", () => {
    const a = atr(H, L, C, 3);
    expect(firstDefined(a)).toBe(3);
    expect(a[3]).toBeCloseTo(8 / 3, 14);
    expect(a[4]).toBeCloseTo(((8 / 3) * 2 + 2) / 3, 14);
    expect(a[5]).toBeCloseTo(((((8 / 3) * 2 + 2) / 3) * 2 + 3) / 3, 14);
    expect(firstDefined(atr(SYNTH.high, SYNTH.low, SYNTH.close))).toBe(14);
  });
});

describe("RSI (Wilder, TA-Lib seeding)", () => {
  it("hand-computed seed and two recurrence steps", () => {
    // changes: +1, −0.5, +1.5, −1, +2
    const r = rsi([10, 11, 10.5, 12, 11, 13], 3);
    expect(firstDefined(r)).toBe(3);
    let g = 2.5 / 3;
    let l = 0.5 / 3;
    expect(r[3]).toBeCloseTo((100 * g) / (g + l), 12); // 83.33…
    expect(r[3]).toBeCloseTo(83.3333333333, 8);
    g = (g * 2 + 0) / 3;
    l = (l * 2 + 1) / 3;
    expect(r[4]).toBeCloseTo((100 * g) / (g + l), 12); // 55.55…
    g = (g * 2 + 2) / 3;
    l = (l * 2 + 0) / 3;
    expect(r[5]).toBeCloseTo((100 * g) / (g + l), 12); // 77.77…
    expect(r[5]).toBeCloseTo(77.7777777778, 8);
  });
  it("avgLoss = 0 → 100; flat (both 0) → 0 as TA-Lib", () => {
    expect(rsi([1, 2, 3, 4, 5], 3)[3]).toBe(100);
    expect(Array.from(rsi([5, 5, 5, 5, 5], 3))).toEqual([NaN, NaN, NaN, 0, 0]);
  });
  it("first value at bar 14 by default", () => {
    expect(firstDefined(rsi(SYNTH.close))).toBe(14);
  });
});

describe("MACD", () => {
  it("independently seeded EMAs: line from bar slow−1, signal from slow−1+signal−1", () => {
    const m = macd(SYNTH.close);
    expect(firstDefined(m.macd)).toBe(25);
    expect(firstDefined(m.signal)).toBe(33);
    expect(firstDefined(m.hist)).toBe(33);
  });
  it("small case by hand (2, 3, 2)", () => {
    const c = [1, 2, 4, 7, 11, 16];
    // EMA2 (α=2/3): seed 1.5@1; 1.5+2/3·2.5=3.1667@2; +2/3·(7−3.1667)=5.7222@3; …
    // EMA3 (α=1/2): seed 7/3@2; 4.6667@3; 7.8333@4; 11.9167@5
    const f: number[] = [NaN, 1.5];
    for (let t = 2; t < c.length; t++) f.push(f[t - 1] + (2 / 3) * (c[t] - f[t - 1]));
    const s: number[] = [NaN, NaN, 7 / 3];
    for (let t = 3; t < c.length; t++) s.push(s[t - 1] + 0.5 * (c[t] - s[t - 1]));
    const line = f.map((v, t) => v - s[t]);
    const sig0 = (line[2] + line[3]) / 2;
    const sig = [NaN, NaN, NaN, sig0];
    for (let t = 4; t < c.length; t++) sig.push(sig[t - 1] + (2 / 3) * (line[t] - sig[t - 1]));
    const m = macd(c, 2, 3, 2);
    expectSeriesClose("macd", m.macd, line, { rel: 1e-12, scale: 10 });
    expectSeriesClose("signal", m.signal, sig, { rel: 1e-12, scale: 10 });
    expectSeriesClose("hist", m.hist, line.map((v, t) => v - sig[t]), { rel: 1e-12, scale: 10 });
  });
});

describe("Stochastic", () => {
  it("%K(3) first at bar 2, %D(2) first at bar 3, by hand", () => {
    const H = [5, 6, 7, 8, 9];
    const L = [1, 2, 3, 4, 5];
    const C = [3, 5, 4, 8, 6];
    const s = stochastic(H, L, C, 3, 2);
    // t2: HH=7 LL=1 → 100·3/6=50; t3: HH=8 LL=2 → 100; t4: HH=9 LL=3 → 50
    expect(Array.from(s.k)).toEqual([NaN, NaN, 50, 100, 50]);
    expect(Array.from(s.d)).toEqual([NaN, NaN, NaN, 75, 75]);
  });
  it("flat window → NaN %K (documented), and %D over it is NaN", () => {
    const s = stochastic([2, 2, 2, 3], [2, 2, 2, 1], [2, 2, 2, 2], 3, 2);
    expect(s.k[2]).toBeNaN();
    expect(s.k[3]).toBeCloseTo(50, 14);
    expect(s.d[3]).toBeNaN();
  });
  it("default (14, 3): %K from bar 13, %D from bar 15", () => {
    const s = stochastic(SYNTH.high, SYNTH.low, SYNTH.close);
    expect(firstDefined(s.k)).toBe(13);
    expect(firstDefined(s.d)).toBe(15);
  });
});

describe("Bollinger", () => {
  it("population std, first at p−1, bandwidth and %b", () => {
    const b = bollinger([1, 2, 3, 4, 5], 3, 2);
    const sd = Math.sqrt(2 / 3);
    expect(firstDefined(b.mid)).toBe(2);
    expect(b.mid[2]).toBeCloseTo(2, 14);
    expect(b.upper[2]).toBeCloseTo(2 + 2 * sd, 14);
    expect(b.lower[2]).toBeCloseTo(2 - 2 * sd, 14);
    expect(b.bandwidth[2]).toBeCloseTo((4 * sd) / 2, 14);
    expect(b.pctB[2]).toBeCloseTo((3 - (2 - 2 * sd)) / (4 * sd), 14);
    expect(b.mid[4]).toBeCloseTo(4, 14);
  });
  it("collapsed bands: std exactly 0 and %b NaN", () => {
    const b = bollinger([1, 7, 7, 7, 7], 3, 2);
    expect(b.upper[4]).toBe(7);
    expect(b.lower[4]).toBe(7);
    expect(b.pctB[4]).toBeNaN();
    expect(firstDefined(bollinger(SYNTH.close).mid)).toBe(19);
  });
});

describe("ADX (Wilder)", () => {
  it("warm-ups: DI from bar 14, ADX from bar 27", () => {
    const a = adx(SYNTH.high, SYNTH.low, SYNTH.close);
    expect(firstDefined(a.plusDi)).toBe(14);
    expect(firstDefined(a.minusDi)).toBe(14);
    expect(firstDefined(a.adx)).toBe(27);
  });
  it("small case with p = 2, by hand", () => {
    const H = [10, 11, 12, 11, 13, 14];
    const L = [9, 10, 10, 9, 11, 12];
    const C = [9.5, 10.5, 11, 10, 12.5, 13];
    // bar: up, down, +DM, −DM, TR
    // 1: 1, −1 → 1, 0, TR max(1, 1.5, 0.5)=1.5
    // 2: 1, 0 → 1, 0, TR max(2, 1.5, 0.5)=2
    // 3: −1, 1 → 0, 1, TR max(2, 0, 2)=2
    // 4: 2, −2 → 2, 0, TR max(2, 3, 1)=3
    // 5: 1, −1 → 1, 0, TR max(2, 1.5, 0.5)=2
    let tr = 3.5, pp = 2, mm = 0; // bar 2 seeds: sums of bars 1..2
    const pdi = [100 * pp / tr];
    const mdi = [100 * mm / tr];
    const step = (s: number, x: number) => s - s / 2 + x;
    for (const [x, p1, m1] of [[2, 0, 1], [3, 2, 0], [2, 1, 0]]) {
      tr = step(tr, x); pp = step(pp, p1); mm = step(mm, m1);
      pdi.push(100 * pp / tr);
      mdi.push(100 * mm / tr);
    }
    const dx = pdi.map((p, i) => 100 * Math.abs(p - mdi[i]) / (p + mdi[i]));
    const adx3 = (dx[0] + dx[1]) / 2; // bar 3 = 2p−1
    const adx4 = (adx3 * 1 + dx[2]) / 2;
    const adx5 = (adx4 * 1 + dx[3]) / 2;
    const a = adx(H, L, C, 2);
    expectSeriesClose("+DI", a.plusDi, [NaN, NaN, ...pdi], { rel: 1e-12 });
    expectSeriesClose("−DI", a.minusDi, [NaN, NaN, ...mdi], { rel: 1e-12, scale: 100 });
    expectSeriesClose("ADX", a.adx, [NaN, NaN, NaN, adx3, adx4, adx5], { rel: 1e-12 });
    expect(pdi[0]).toBeCloseTo(100 * 2 / 3.5, 12);
  });
  it("no movement at all → DI 0, DX 0, ADX 0", () => {
    const flat = new Array(10).fill(5);
    const a = adx(flat, flat, flat, 3);
    expect(a.plusDi[3]).toBe(0);
    expect(a.adx[5]).toBe(0);
  });
});

describe("stats: rolling z-score and outlier flags", () => {
  it("rolling z-score: sample std, first at window−1, std 0 → NaN, NaN in window → NaN", () => {
    const z = rollingZScore([1, 2, 3, 4, 4, 4, 4], 3);
    expect(firstDefined(z)).toBe(2);
    expect(z[2]).toBeCloseTo(1, 14); // (3−2)/1
    expect(z[3]).toBeCloseTo(1, 14); // (4−3)/1
    expect(z[4]).toBeCloseTo((4 - 11 / 3) / Math.sqrt(((3 - 11 / 3) ** 2 + 2 * (4 - 11 / 3) ** 2) / 2), 14);
    expect(z[6]).toBeNaN(); // 4,4,4
    const zn = rollingZScore([1, 2, NaN, 4, 5, 6, 7], 3);
    expect(Array.from(zn.slice(0, 5)).every(Number.isNaN)).toBe(true);
    expect(zn[5]).toBeCloseTo(1, 14);
  });
  it("rolling mean/std stays exact across a huge level shift (no drift, no cancellation)", () => {
    // 1e6-level noisy prices, then a series around 1 with 1e-4 wiggles: running sums anchored at the first
    // level would lose every digit of the second regime's variance.
    // The shift is placed at every phase of the once-per-window re-sum.
    for (const w of [20, 7]) {
      for (let at = 300; at < 300 + w; at++) {
        const x = Array.from({ length: 600 }, (_, t) => (t < at ? 1e6 + 1e3 * Math.sin(t) : 1 + 1e-4 * Math.sin(t * 0.7)));
        for (const ddof of [0, 1] as const) {
          const ms = rollingMeanStd(x, w, ddof);
          const r = refMeanStd(x, w, ddof);
          expectSeriesClose(`shift@${at} w${w} mean ddof${ddof}`, ms.mean, r.mean);
          expectSeriesClose(`shift@${at} w${w} std ddof${ddof}`, ms.std, r.std);
        }
      }
    }
  });
  it("rolling mean/std fuzz: random regimes of scale 1e-6…1e6, flat runs and NaN gaps", () => {
    let seed = 12345;
    const rnd = () => {
      // mulberry32
      seed = (seed + 0x6d2b79f5) | 0;
      let r = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      r = (r + Math.imul(r ^ (r >>> 7), 61 | r)) ^ r;
      return ((r ^ (r >>> 14)) >>> 0) / 4294967296;
    };
    for (let rep = 0; rep < 20; rep++) {
      const x: number[] = [];
      while (x.length < 1500) {
        const len = 1 + Math.floor(rnd() * 60);
        const level = 10 ** (rnd() * 12 - 6) * (rnd() < 0.2 ? -1 : 1);
        const spread = level * 10 ** (-rnd() * 8);
        const kind = rnd();
        for (let i = 0; i < len; i++) x.push(kind < 0.1 ? level : kind < 0.15 ? NaN : level + spread * (rnd() - 0.5));
      }
      for (const w of [3, 20, 50]) {
        for (const ddof of [0, 1] as const) {
          const ms = rollingMeanStd(x, w, ddof);
          const r = refMeanStd(x, w, ddof);
          expectSeriesClose(`fuzz${rep} w${w} mean`, ms.mean, r.mean, { scale: r.std.map((v) => v * 1e3) });
          // the reference's own error is ~ε·|level| (a flat window's two-pass mean is not exact), so the
          // tolerance is relative to the std or to 1e-5 of the level, whichever is larger
          expectSeriesClose(`fuzz${rep} w${w} std`, ms.std, r.std, { rel: 1e-8, scale: r.mean.map((m) => m * 1e-5) });
        }
      }
    }
  });
  it("z-score outliers over the whole series (ddof 1), NaNs ignored", () => {
    const x = [...new Array(20).fill(0), 100, NaN];
    // mean = 100/21, sample std = sqrt((20·m² + (100−m)²)/20); |100−m|/std = 4.358…
    const f = outlierFlagsZScore(x, 4);
    expect(Array.from(f)).toEqual([...new Array(20).fill(0), 1, 0]);
    expect(outlierFlagsZScore(x, 4.5)[20]).toBe(0);
    expect(Array.from(outlierFlagsZScore([3, 3, 3]))).toEqual([0, 0, 0]);
  });
  it("IQR outliers with numpy-linear quartiles", () => {
    const s = [1, 2, 3, 4, 5, 6, 7, 8, 9, 1000];
    expect(quantileLinear(s, 0.25)).toBeCloseTo(3.25, 14); // numpy.percentile(s, 25)
    expect(quantileLinear(s, 0.75)).toBeCloseTo(7.75, 14);
    expect(quantileLinear(s, 1)).toBe(1000);
    expect(quantileLinear([4], 0.5)).toBe(4);
    // fences 3.25 − 6.75 = −3.5 and 7.75 + 6.75 = 14.5: only 1000 is outside
    expect(Array.from(outlierFlagsIQR([NaN, ...s]))).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    // fences are strict: [0, 1, 1, 1, 2] → Q1 = Q3 = 1, IQR 0, fences 1 and 1 → 0 and 2 flagged, 1s not
    expect(Array.from(outlierFlagsIQR([0, 1, NaN, 1, 1, 2]))).toEqual([1, 0, 0, 0, 0, 1]);
  });
});

// ------------------------------------------------------------------------------------------------------------
// real data vs naive references (BTC, relative 1e-9)
// ------------------------------------------------------------------------------------------------------------

describe("BTC daily vs naive O(n·w) references (rel 1e-9)", () => {
  const { open: O, high: H, low: L, close: C } = BTC;
  it("data looks as documented", () => {
    expect(C.length).toBe(2982);
    expect(BTC.dates[0]).toBe("2014-09-17");
  });
  it("EMAs and derivatives", () => {
    for (const p of [...EMA_PERIODS, 12, 26]) expectSeriesClose(`ema_${p}`, ema(C, p), refEma(C, p), { scale: C });
    const e = ema(C, 21);
    const d = emaDerivatives(C, e);
    const d1 = Array.from(e, (v, t) => (t === 0 ? NaN : v - e[t - 1]));
    const gap = Array.from(e, (v, t) => C[t] - v);
    expectSeriesClose("d1", d.d1, d1, { scale: C });
    expectSeriesClose("d2", d.d2, d1.map((v, t) => (t === 0 ? NaN : v - d1[t - 1])), { scale: C });
    expectSeriesClose("d1_close", d.d1_close, gap, { scale: C });
    expectSeriesClose("d2_close", d.d2_close, gap.map((v, t) => (t === 0 ? NaN : v - gap[t - 1])), { scale: C });
  });
  it("returns for every lookback, pure relative 1e-9", () => {
    for (const k of RETURN_LOOKBACKS) {
      const r = returns(C, k);
      const pct = Array.from(C, (c, t) => (t < k ? NaN : (c - C[t - k]) / C[t - k]));
      const log = Array.from(C, (c, t) => (t < k ? NaN : Math.log(c / C[t - k])));
      expectSeriesClose(`ret_${k}_pct`, r.pct, pct);
      expectSeriesClose(`ret_${k}_log`, r.log, log);
    }
  });
  it("volatility estimators and rolling annualised vol", () => {
    const pk = Array.from(H, (h, t) => Math.log(h / L[t]) ** 2 / (4 * Math.log(2)));
    const gk = Array.from(H, (h, t) => 0.5 * Math.log(h / L[t]) ** 2 - (2 * Math.log(2) - 1) * Math.log(C[t] / O[t]) ** 2);
    const rs = Array.from(H, (h, t) => Math.log(h / C[t]) * Math.log(h / O[t]) + Math.log(L[t] / C[t]) * Math.log(L[t] / O[t]));
    const vp = parkinsonVariance(H, L);
    const vg = garmanKlassVariance(O, H, L, C);
    const vr = rogersSatchellVariance(O, H, L, C);
    expectSeriesClose("parkinson", vp, pk);
    expectSeriesClose("gk", vg, gk);
    expectSeriesClose("rs", vr, rs, { abs: 1e-18 });
    // fused one-pass variant (differences of logs)
    const fused = rangeVariances(O, H, L, C);
    expectSeriesClose("fused parkinson", fused.parkinson, pk);
    expectSeriesClose("fused gk", fused.garmanKlass, gk);
    expectSeriesClose("fused rs", fused.rogersSatchell, rs, { abs: 1e-18 });
    for (const [name, v, ref] of [["pk", vp, pk], ["gk", vg, gk], ["rs", vr, rs]] as const) {
      expectSeriesClose(`${name}_20`, rollingAnnualisedVol(v, 365), refRollingVol(ref, 365, 20));
      expectSeriesClose(`${name}_10_252`, rollingAnnualisedVol(v, 252, 10), refRollingVol(ref, 252, 10));
    }
  });
  it("ATR, RSI, MACD", () => {
    expectSeriesClose("tr", trueRange(H, L, C), refTr(H, L, C), { scale: C });
    expectSeriesClose("atr_14", atr(H, L, C), refAtr(H, L, C, 14), { scale: C });
    expectSeriesClose("rsi_14", rsi(C), refRsi(C, 14), { scale: 100 });
    expectSeriesClose("rsi_2", rsi(C, 2), refRsi(C, 2), { scale: 100 });
    const m = macd(C);
    const r = refMacd(C, 12, 26, 9);
    expectSeriesClose("macd", m.macd, r.macd, { scale: C });
    expectSeriesClose("macd_signal", m.signal, r.signal, { scale: C });
    expectSeriesClose("macd_hist", m.hist, r.hist, { scale: C });
  });
  it("Stochastic, Bollinger, ADX", () => {
    for (const [p, dp] of [[14, 3], [1, 1], [2, 3], [5, 2], [30, 3], [2982, 1], [4000, 3]]) {
      const s = stochastic(H, L, C, p, dp);
      const rs = refStoch(H, L, C, p, dp);
      expectSeriesClose(`stoch_k(${p})`, s.k, rs.k, { scale: 100 });
      expectSeriesClose(`stoch_d(${p},${dp})`, s.d, rs.d, { scale: 100 });
    }
    const b = bollinger(C);
    const rb = refBollinger(C, 20, 2);
    expectSeriesClose("bb_mid", b.mid, rb.mid, { scale: C });
    expectSeriesClose("bb_upper", b.upper, rb.upper, { scale: C });
    expectSeriesClose("bb_lower", b.lower, rb.lower, { scale: C });
    expectSeriesClose("bb_bandwidth", b.bandwidth, rb.bandwidth);
    expectSeriesClose("bb_pctb", b.pctB, rb.pctB, { scale: 1 });
    const a = adx(H, L, C);
    const ra = refAdx(H, L, C, 14);
    expectSeriesClose("plus_di", a.plusDi, ra.plusDi, { scale: 100 });
    expectSeriesClose("minus_di", a.minusDi, ra.minusDi, { scale: 100 });
    expectSeriesClose("adx", a.adx, ra.adx, { scale: 100 });
  });
  it("rolling mean/std and z-score (window 252, also over a column with a warm-up)", () => {
    for (const ddof of [0, 1] as const) {
      const ms = rollingMeanStd(C, 252, ddof);
      const r = refMeanStd(C, 252, ddof);
      expectSeriesClose(`mean ddof${ddof}`, ms.mean, r.mean, { scale: C });
      expectSeriesClose(`std ddof${ddof}`, ms.std, r.std); // relative to the std itself, not the price
    }
    for (const x of [C, rsi(C), returns(C, 1).log]) {
      const z = rollingZScore(x);
      const r = refMeanStd(x, 252, 1);
      const zr = Array.from(x, (v, t) => (v - r.mean[t]) / r.std[t]);
      expect(firstDefined(z)).toBe(firstDefined(x) + 251);
      expectSeriesClose("zscore", z, zr, { abs: 1e-8 });
    }
  });
  it("outlier flags vs naive (sorting with Array.prototype.sort)", () => {
    const x = returns(C, 1).log;
    const vals = Array.from(x).filter((v) => !Number.isNaN(v));
    const mean = vals.reduce((a, b) => a + b, 0) / vals.length;
    const sd = Math.sqrt(vals.reduce((a, b) => a + (b - mean) ** 2, 0) / (vals.length - 1));
    const zRef = Array.from(x, (v) => (!Number.isNaN(v) && Math.abs(v - mean) / sd > 4 ? 1 : 0));
    const zFlags = outlierFlagsZScore(x);
    expect(Array.from(zFlags)).toEqual(zRef);
    expect(zFlags.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    const sorted = [...vals].sort((a, b) => a - b);
    const q = (p: number) => {
      const h = (sorted.length - 1) * p;
      const lo = Math.floor(h);
      return sorted[lo] + (h - lo) * ((sorted[lo + 1] ?? sorted[lo]) - sorted[lo]);
    };
    const q1 = q(0.25);
    const q3 = q(0.75);
    const iqrRef = Array.from(x, (v) => (v < q1 - 1.5 * (q3 - q1) || v > q3 + 1.5 * (q3 - q1) ? 1 : 0));
    expect(Array.from(outlierFlagsIQR(x))).toEqual(iqrRef);
    expect(outlierFlagsIQR(x)[0]).toBe(0); // NaN warm-up never flagged
  });
});

// ------------------------------------------------------------------------------------------------------------
// technicalindicators cross-checks (BTC)
// ------------------------------------------------------------------------------------------------------------

describe("BTC vs technicalindicators", () => {
  const { high: H, low: L, close: C } = BTC;
  const n = C.length;
  const values = Array.from(C);
  const high = Array.from(H);
  const low = Array.from(L);
  it("EMA: same SMA seeding and warm-up", () => {
    for (const p of EMA_PERIODS) {
      const ti = TI.EMA.calculate({ period: p, values });
      expect(ti.length).toBe(n - p + 1);
      expectSeriesClose(`ti ema_${p}`, ema(C, p), alignTi(n, ti), { scale: C });
    }
  });
  it("RSI: same Wilder seeding; TI rounds to 2 decimals → agree within 0.005", () => {
    const ti = TI.RSI.calculate({ period: 14, values });
    expect(ti.length).toBe(n - 14);
    expectSeriesClose("ti rsi", rsi(C), alignTi(n, ti), { abs: 0.005 + 1e-9, rel: 0 });
  });
  it("RSI documented difference: flat window is 0 here, 100 in technicalindicators", () => {
    const flat = [5, 5, 5, 5, 5, 5];
    expect(TI.RSI.calculate({ period: 3, values: flat })).toEqual([100, 100, 100]);
    expect(Array.from(rsi(flat, 3)).slice(3)).toEqual([0, 0, 0]);
  });
  it("MACD (EMA mode): same independent seeding, line from 25, signal from 33", () => {
    const ti = TI.MACD.calculate({ values, fastPeriod: 12, slowPeriod: 26, signalPeriod: 9, SimpleMAOscillator: false, SimpleMASignal: false });
    expect(ti.length).toBe(n - 25);
    const m = macd(C);
    expectSeriesClose("ti macd", m.macd, alignTi(n, ti.map((r) => r.MACD)), { scale: C });
    expectSeriesClose("ti signal", m.signal, alignTi(n, ti.map((r) => r.signal)), { scale: C });
    expectSeriesClose("ti hist", m.hist, alignTi(n, ti.map((r) => r.histogram)), { scale: C });
  });
  it("Bollinger: population std, same bands and %b", () => {
    const ti = TI.BollingerBands.calculate({ period: 20, stdDev: 2, values });
    expect(ti.length).toBe(n - 19);
    const b = bollinger(C);
    expectSeriesClose("ti bb mid", b.mid, alignTi(n, ti.map((r) => r.middle)), { scale: C });
    expectSeriesClose("ti bb upper", b.upper, alignTi(n, ti.map((r) => r.upper)), { scale: C });
    expectSeriesClose("ti bb lower", b.lower, alignTi(n, ti.map((r) => r.lower)), { scale: C });
    expectSeriesClose("ti bb %b", b.pctB, alignTi(n, ti.map((r) => r.pb)), { scale: 1 });
  });
  it("ATR: TR from bar 1, SMA seed at 14, Wilder", () => {
    const ti = TI.ATR.calculate({ period: 14, high, low, close: values });
    expect(ti.length).toBe(n - 14);
    expectSeriesClose("ti atr", atr(H, L, C), alignTi(n, ti), { scale: C });
  });
  it("Stochastic: equal on BTC (no flat 14-bar window); flat window differs as documented", () => {
    const ti = TI.Stochastic.calculate({ period: 14, signalPeriod: 3, high, low, close: values });
    expect(ti.length).toBe(n - 13);
    const s = stochastic(H, L, C);
    expectSeriesClose("ti %K", s.k, alignTi(n, ti.map((r) => r.k)), { scale: 100 });
    expectSeriesClose("ti %D", s.d, alignTi(n, ti.map((r) => r.d)), { scale: 100 });
    const flat = [2, 2, 2, 2];
    expect(TI.Stochastic.calculate({ period: 3, signalPeriod: 1, high: flat, low: flat, close: flat }).map((r) => r.k)).toEqual([0, 0]);
    expect(Array.from(stochastic(flat, flat, flat, 3, 1).k).slice(2)).toEqual([NaN, NaN]);
  });
  it("ADX: same classic Wilder seeding (DI from 14, ADX from 27)", () => {
    const ti = TI.ADX.calculate({ period: 14, high, low, close: values });
    expect(ti.length).toBe(n - 27);
    const a = adx(H, L, C);
    expectSeriesClose("ti adx", a.adx, alignTi(n, ti.map((r) => r.adx)), { scale: 100 });
    expectSeriesClose("ti +di", a.plusDi.subarray(27), ti.map((r) => r.pdi), { scale: 100 });
    expectSeriesClose("ti −di", a.minusDi.subarray(27), ti.map((r) => r.mdi), { scale: 100 });
  });
});

// ------------------------------------------------------------------------------------------------------------
// computeAllIndicators
// ------------------------------------------------------------------------------------------------------------

describe("computeAllIndicators", () => {
  it("FEATURE_COLUMNS: frozen, unique, explicit order, return columns follow RETURN_LOOKBACKS", () => {
    expect(Object.isFrozen(FEATURE_COLUMNS)).toBe(true);
    expect(new Set(FEATURE_COLUMNS).size).toBe(FEATURE_COLUMNS.length);
    expect(FEATURE_COLUMNS.slice(0, 7)).toEqual(EMA_PERIODS.map((p) => `ema_${p}`));
    expect(FEATURE_COLUMNS.filter((c) => c.startsWith("ret_"))).toEqual(RETURN_LOOKBACKS.flatMap((k) => [`ret_${k}_pct`, `ret_${k}_log`]));
    expect(FEATURE_COLUMNS.length).toBe(7 + 26 + 6 + 13);
  });
  it("returns exactly FEATURE_COLUMNS, with the documented warm-ups on SYNTH", () => {
    const f = computeAllIndicators(SYNTH, { periodsPerYear: 365 });
    expect(Object.keys(f).sort()).toEqual([...FEATURE_COLUMNS].sort());
    const n = SYNTH.close.length;
    expect(n).toBe(150);
    const want: Record<string, number> = {
      ema_5: 4, ema_9: 8, ema_10: 9, ema_21: 20, ema_50: 49, ema_100: 99, ema_200: -1,
      vol_parkinson: 0, vol_gk: 0, vol_rs: 0, vol_parkinson_20: 19, vol_gk_20: 19, vol_rs_20: 19,
      atr_14: 14, rsi_14: 14, macd: 25, macd_signal: 33, macd_hist: 33, stoch_k: 13, stoch_d: 15,
      bb_mid: 19, bb_upper: 19, bb_lower: 19, adx_14: 27, plus_di_14: 14, minus_di_14: 14,
    };
    for (const k of RETURN_LOOKBACKS) want[`ret_${k}_pct`] = want[`ret_${k}_log`] = k < n ? k : -1;
    for (const c of FEATURE_COLUMNS) {
      expect(f[c]).toBeInstanceOf(Float64Array);
      expect(f[c].length, c).toBe(n);
      expect(firstDefined(f[c]), c).toBe(want[c]);
      // after the warm-up every value is defined (SYNTH has no flat windows)
      if (want[c] >= 0) expect(Array.from(f[c].subarray(want[c])).some(Number.isNaN), c).toBe(false);
    }
  });
  it("columns equal the individual functions on BTC; vol annualisation uses periodsPerYear", () => {
    const f = computeAllIndicators(BTC, { periodsPerYear: 365 });
    const g = computeAllIndicators(BTC, { periodsPerYear: 252 });
    expect(Array.from(f.ema_200)).toEqual(Array.from(ema(BTC.close, 200)));
    expect(Array.from(f.adx_14)).toEqual(Array.from(adx(BTC.high, BTC.low, BTC.close).adx));
    expect(g.vol_gk_20[100] / f.vol_gk_20[100]).toBeCloseTo(Math.sqrt(252 / 365), 12);
    expect(Array.from(g.vol_gk)).toEqual(Array.from(f.vol_gk));
  });
  it("rejects ragged input", () => {
    expect(() => computeAllIndicators({ ...SYNTH, high: new Float64Array(3) }, { periodsPerYear: 365 })).toThrow(RangeError);
  });
});
