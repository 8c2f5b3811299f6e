/**
 * computeAllIndicators vs the `technicalindicators` npm package on BTC daily bars.
 *
 * The two sides are timed interleaved (ours, theirs, ours, …) so CPU frequency changes and GC pressure hit
 * both alike, after a few untimed warm-up calls so both run JIT-optimised code; each side's figure is its
 * best run (the least-disturbed measurement of the same deterministic work). Input conversion to the
 * number[] that technicalindicators wants happens once, outside the timing.
 * Our side computes every declared indicator (compute/indicators/catalog.ts); the technicalindicators side
 * only those it implements (REFERENCES), so ours does at least as much work.
 *
 * Run: node --import tsx bench/features-compute.ts
 */
import fs from "node:fs";
import path from "node:path";
import { performance } from "node:perf_hooks";
import * as TI from "technicalindicators";
import { computeAllIndicators, FEATURE_COLUMNS, INDICATORS } from "../compute/indicators/catalog.ts";
import { EMA_PERIODS } from "../compute/indicators/ema.ts";

export interface ComputeBenchResult {
  ours_ms: number;
  ti_ms: number;
  speedup: number;
}

interface Bars {
  open: Float64Array;
  high: Float64Array;
  low: Float64Array;
  close: Float64Array;
}

type Reference = (v: { values: number[]; high: number[]; low: number[] }) => number;

/** technicalindicators' implementation of a declared indicator, by indicator name, with the same parameters. */
const REFERENCES: Readonly<Record<string, Reference>> = {
  ema: ({ values }) => EMA_PERIODS.reduce((n, period) => n + TI.EMA.calculate({ period, values }).length, 0),
  rsi: ({ values }) => TI.RSI.calculate({ period: 14, values }).length,
  macd: ({ values }) => TI.MACD.calculate({ values, fastPeriod: 12, slowPeriod: 26, signalPeriod: 9, SimpleMAOscillator: false, SimpleMASignal: false }).length,
  stochastic: ({ values, high, low }) => TI.Stochastic.calculate({ period: 14, signalPeriod: 3, high, low, close: values }).length,
  bollinger: ({ values }) => TI.BollingerBands.calculate({ period: 20, stdDev: 2, values }).length,
  atr: ({ values, high, low }) => TI.ATR.calculate({ period: 14, high, low, close: values }).length,
  adx: ({ values, high, low }) => TI.ADX.calculate({ period: 14, high, low, close: values }).length,
};

const REFERENCED = INDICATORS.filter((i) => Object.hasOwn(REFERENCES, i.name));

function loadBars(): Bars {
  let file = path.resolve(import.meta.dirname, "../data/BTC-USD_daily.csv");
  if (!fs.existsSync(file)) file = "/work/shared/data/BTC-USD_daily.csv";
  const lines = fs.readFileSync(file, "utf8").trim().split(/\r?\n/).slice(1);
  const n = lines.length;
  const bars: Bars = { open: new Float64Array(n), high: new Float64Array(n), low: new Float64Array(n), close: new Float64Array(n) };
  lines.forEach((line, i) => {
    const f = line.split(",");
    bars.open[i] = Number(f[1]);
    bars.high[i] = Number(f[2]);
    bars.low[i] = Number(f[3]);
    bars.close[i] = Number(f[4]);
  });
  return bars;
}

/** Keeps results reachable so no engine can treat the work as dead code. */
let sink = 0;

export async function benchCompute(opts: { runs?: number; warmup?: number } = {}): Promise<ComputeBenchResult> {
  const runs = Math.max(7, opts.runs ?? 25);
  const warmup = opts.warmup ?? 20;
  const bars = loadBars();
  const values = Array.from(bars.close);
  const high = Array.from(bars.high);
  const low = Array.from(bars.low);

  const ours = () => {
    const f = computeAllIndicators(bars, { periodsPerYear: 365 });
    sink += f.adx_14[f.adx_14.length - 1];
  };
  const theirs = () => {
    for (const i of REFERENCED) sink += REFERENCES[i.name]({ values, high, low });
  };
  const time = (fn: () => void) => {
    const t0 = performance.now();
    fn();
    return performance.now() - t0;
  };

  for (let i = 0; i < warmup; i++) {
    ours();
    theirs();
  }
  let best = Infinity;
  let bestTi = Infinity;
  for (let i = 0; i < runs; i++) {
    best = Math.min(best, time(ours));
    bestTi = Math.min(bestTi, time(theirs));
    await new Promise((r) => setImmediate(r)); // let the loop breathe between pairs
  }
  if (!Number.isFinite(sink)) throw new Error("benchmark sink is not finite");
  return { ours_ms: best, ti_ms: bestTi, speedup: bestTi / best };
}

/** Informational: our side for exactly the indicators technicalindicators implements. Same timing protocol. */
export async function benchSameSet(opts: { runs?: number; warmup?: number } = {}): Promise<{ ours_ms: number }> {
  const runs = Math.max(7, opts.runs ?? 25);
  const warmup = opts.warmup ?? 20;
  const bars = loadBars();
  const ours = () => {
    for (const i of REFERENCED) sink += Object.keys(i.compute(bars, { periodsPerYear: 365 })).length;
  };
  for (let i = 0; i < warmup; i++) ours();
  let best = Infinity;
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    ours();
    best = Math.min(best, performance.now() - t0);
  }
  return { ours_ms: best };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = await benchCompute();
  const same = await benchSameSet();
  const fmt = (x: number) => x.toFixed(3);
  const line = (label: string, value: string) => console.log(`  ${label.padEnd(56)} ${value}`);
  console.log(`BTC daily, ${loadBars().close.length} bars, best of ≥ 25 interleaved runs`);
  line(`computeAllIndicators (${FEATURE_COLUMNS.length} columns)`, `${fmt(r.ours_ms)} ms`);
  line(`technicalindicators (${REFERENCED.map((i) => i.name).join(", ")})`, `${fmt(r.ti_ms)} ms`);
  line("speedup", `${r.speedup.toFixed(1)}×`);
  line("(ours, same indicator set only", `${fmt(same.ours_ms)} ms → ${(r.ti_ms / same.ours_ms).toFixed(1)}×)`);
  console.log(JSON.stringify(r));
}
