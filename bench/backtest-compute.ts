/**
 * Single-core compute benchmark of the pure backtest engine: EMA-crossover actions + runBacktest
 * (including all metrics) over many fast/slow pairs on BTC daily. EMAs are precomputed once; the loop
 * runs single-threaded for at least 2 s. Run: node --import tsx bench/backtest-compute.ts
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { ema } from "../compute/indicators/ema.ts";
import { runBacktest } from "../compute/backtest/engine.ts";
import { emaCrossActions } from "../compute/signals/ema-cross.ts";

function loadOhlc(file: string): { dates: string[]; open: Float64Array; close: Float64Array } {
  const lines = readFileSync(file, "utf8").trim().split(/\r?\n/);
  const header = lines[0].split(",");
  const iDate = header.indexOf("date");
  const iOpen = header.indexOf("open");
  const iClose = header.indexOf("close");
  const n = lines.length - 1;
  const dates: string[] = new Array(n);
  const open = new Float64Array(n);
  const close = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const f = lines[i + 1].split(",");
    dates[i] = f[iDate];
    open[i] = Number(f[iOpen]);
    close[i] = Number(f[iClose]);
  }
  return { dates, open, close };
}

export async function benchBacktestCompute(
  opts: { minSeconds?: number; csv?: string } = {},
): Promise<{
  backtests_per_s_per_core: number;
  backtests_per_cpu_s: number;
  backtests: number;
  seconds: number;
  cpu_seconds: number;
  bars: number;
  pairs: number;
}> {
  const minSeconds = opts.minSeconds ?? 2;
  const csv = opts.csv ?? path.resolve(import.meta.dirname, "../data/BTC-USD_daily.csv");
  const { dates, open, close } = loadOhlc(csv);
  const n = close.length;

  const pairs: Array<[number, number]> = [];
  for (let f = 5; f <= 50; f += 1) for (let s = 10; s <= 200; s += 5) if (f < s) pairs.push([f, s]);
  const emas = new Map<number, Float64Array>();
  for (const [f, s] of pairs) {
    if (!emas.has(f)) emas.set(f, ema(close, f));
    if (!emas.has(s)) emas.set(s, ema(close, s));
  }
  const actions = new Int8Array(n);
  const equityBuffer = new Float64Array(n);
  let sink = 0;
  const runOne = (f: number, s: number): void => {
    emaCrossActions(emas.get(f)!, emas.get(s)!, actions);
    const r = runBacktest({ open, close, dates, actions, feeBps: 10, periodsPerYear: 365, equityBuffer });
    sink += r.metrics.sharpe;
  };

  for (let i = 0; i < 2000; i++) runOne(pairs[i % pairs.length][0], pairs[i % pairs.length][1]); // warm-up

  let count = 0;
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  let elapsed = 0;
  while (elapsed < minSeconds) {
    for (let i = 0; i < 500; i++) {
      const [f, s] = pairs[count % pairs.length];
      runOne(f, s);
      count++;
    }
    elapsed = Number(process.hrtime.bigint() - t0) / 1e9;
  }
  const cpu = process.cpuUsage(cpu0);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  if (Number.isNaN(sink)) console.error("(some Sharpe values were NaN)");
  return {
    // Wall-clock, single thread. On a shared machine the thread may not get a whole core: then
    // backtests_per_cpu_s (process CPU time, incl. V8's GC/JIT threads, so conservative) is the better
    // estimate of one idle core.
    backtests_per_s_per_core: count / elapsed,
    backtests_per_cpu_s: count / cpuSeconds,
    backtests: count,
    seconds: elapsed,
    cpu_seconds: cpuSeconds,
    bars: n,
    pairs: pairs.length,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = await benchBacktestCompute();
  console.log(JSON.stringify(r));
}
