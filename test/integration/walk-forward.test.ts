// A walk-forward through the real workers on real BTC data: what walk_forward_windows and walk_forwards
// store equals an independent recomputation in this test (the engine over copied slices of the
// full-history actions, the best by annualised Sharpe, the returns chained from 1.0, the full-period best);
// re-enqueueing adds nothing; `walk-forward --wait` prints the stored table; bad flags are refused naming
// the flag and value.
import { Job } from "bullmq";
import { execFile } from "node:child_process";
import { resolve } from "node:path";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { importPrices } from "../../db/import/import-prices.ts";
import { findAsset } from "../../db/repos/assets.ts";
import { loadBars } from "../../db/repos/prices.ts";
import { findWalkForward, loadWalkForwardWindows } from "../../db/repos/walk-forward.ts";
import { DATA_DIR } from "../../db/sample-data.ts";
import { enqueueWalkForward, type WalkForwardSpec } from "../../queues/flows/walk-forward.ts";
import type { BacktestResult } from "../../queues/kinds/backtest.ts";
import { parsePayload } from "../../queues/kind.ts";
import { backtestKind } from "../../queues/registry.ts";
import { parseConfig } from "../../ops/config.ts";
import { walkForwardCommand, walkForwardReport } from "../../producers/commands/walk-forward.ts";
import { UsageError } from "../../producers/commands/command.ts";
import { backtestProcessor } from "../../workers/backtest/processor.ts";
import type { JobContext } from "../../workers/runtime.ts";
import { createFleetComputePool } from "../../workers/threads/fleet-pool.ts";
import type { ComputePool } from "../../workers/threads/pool.ts";
import { runBacktest } from "../../compute/backtest/engine.ts";
import { computeMetrics } from "../../compute/backtest/metrics.ts";
import { emaGridPairs } from "../../compute/backtest/sweep-grid.ts";
import { ema } from "../../compute/indicators/ema.ts";
import { sharpeTied } from "../../compute/research/sharpe.ts";
import { emaCrossActions } from "../../compute/signals/ema-cross.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/db.ts";
import { testFleet, type TestFleet } from "../helpers/fleet.ts";
import { redisUrl } from "../helpers/redis.ts";
import { poll } from "../helpers/wait.ts";

const ROOT = resolve(import.meta.dirname, "../..");
const execFileP = promisify(execFile);

let db: TestDatabase;
let tf: TestFleet;
let compute: ComputePool;

beforeEach(async () => {
  db = await createTestDatabase();
  tf = testFleet("walkforward");
  compute = createFleetComputePool(1);
  await importPrices(db.pool, resolve(DATA_DIR, "BTC-USD_daily.csv"), "BTC-USD", "CRYPTO");
  await tf.worker(backtestKind, backtestProcessor({ pool: db.pool, fleet: tf.fleet, cfg: parseConfig({}), log: tf.log.log, compute }), { concurrency: 2 });
}, 60_000);
afterEach(async () => {
  await tf?.close();
  await compute?.close();
  await db?.drop();
});

/** |a − b| ≤ 1e-12·|b|; NaN only equals NaN. */
function expectRel(actual: number, expected: number, label: string): void {
  if (Number.isNaN(expected)) return void expect(actual, label).toBeNaN();
  expect(Math.abs(actual - expected) <= 1e-12 * Math.abs(expected), `${label}: ${actual} vs ${expected}`).toBe(true);
}

describe("walk-forward", () => {
  it("stores each window and the stitched OOS metrics an independent recomputation gives", { timeout: 120_000 }, async () => {
    const spec: WalkForwardSpec = { asset: "BTC-USD", strategy: "ema_cross", fast: [5, 20, 5], slow: [30, 60, 10], train: 365, test: 365, feeBps: 10 };
    const asset = (await findAsset(db.pool, "BTC-USD"))!;
    const bars = await loadBars(db.pool, asset.asset_id, "9999-12-31");
    const n = bars.dates.length;
    const r = await enqueueWalkForward(tf.fleet, spec, n);
    const result = await poll(async () => {
      const root = await Job.fromId(tf.fleet.queue(backtestKind), r.rootJobId);
      return (await root?.isCompleted()) ? (root!.returnvalue as BacktestResult) : undefined;
    }, `walk-forward ${r.walkForwardId}`, 90_000);

    // Independently: windows from the definition, each backtest the engine over copied slices.
    const pairs = emaGridPairs(spec.fast, spec.slow);
    const actionsOf = ([f, s]: readonly [number, number]) => emaCrossActions(ema(bars.close, f), ema(bars.close, s));
    const bt = (actions: Int8Array, a: number, b: number) =>
      runBacktest({ open: bars.open.slice(a, b + 1), close: bars.close.slice(a, b + 1), dates: bars.dates.slice(a, b + 1), actions: actions.slice(a, b + 1), feeBps: 10, periodsPerYear: 365 });
    // The Sharpe: 0 when the returns have no variance (the engine's metric is then 0/0).
    const sr = (m: { sharpe: number }) => (Number.isNaN(m.sharpe) ? 0 : m.sharpe);
    const expected = [];
    for (let k = 0, s = spec.train; s <= n - 2; k++, s += spec.test) {
      const testEnd = Math.min(s + spec.test, n) - 1;
      const sharpes = pairs.map((p) => sr(bt(actionsOf(p), s - spec.train, s - 1).metrics));
      const max = Math.max(...sharpes);
      const best = sharpes.findIndex((x) => sharpeTied(x, max));
      const oos = bt(actionsOf(pairs[best]!), s, testEnd);
      expected.push({ k, s, testEnd, pair: pairs[best]!, is: sharpes[best]!, oos });
    }
    expect(expected.map((e) => e.testEnd)).toEqual([729, 1094, 1459, 1824, 2189, 2554, 2919, n - 1]);
    expect(result).toMatchObject({ mode: "wf-root", windows: expected.length });

    const stored = await loadWalkForwardWindows(db.pool, r.walkForwardId);
    expect(stored.map((w) => [w.k, w.trainStart, w.trainEnd, w.trainStartDate, w.trainEndDate, w.testStart, w.testEnd, w.testStartDate, w.testEndDate, w.fast, w.slow, w.oosTrades, w.openAtEnd])).toEqual(
      expected.map((e) => [e.k, e.s - 365, e.s - 1, bars.dates[e.s - 365], bars.dates[e.s - 1], e.s, e.testEnd, bars.dates[e.s], bars.dates[e.testEnd], e.pair[0], e.pair[1], e.oos.trades.length, e.oos.openPosition !== null]),
    );
    const returns: number[] = [];
    const curveDates = [bars.dates[expected[0]!.s]!];
    for (const [i, e] of expected.entries()) {
      const w = stored[i]!;
      expectRel(w.isSharpe, e.is, `IS ${e.k}`);
      expectRel(w.oosSharpe, sr(e.oos.metrics), `OOS ${e.k}`);
      expectRel(w.oosTotalReturn, e.oos.metrics.total_return, `OOS return ${e.k}`);
      const rs = Array.from({ length: e.oos.equity.length - 1 }, (_, t) => e.oos.equity[t + 1]! / e.oos.equity[t]! - 1);
      expect(w.returns).toHaveLength(rs.length);
      rs.forEach((x, t) => expectRel(w.returns[t]!, x, `return ${e.k}/${t}`));
      returns.push(...rs);
      curveDates.push(...bars.dates.slice(e.s + 1, e.testEnd + 1));
    }

    let eq = 1;
    const equity = [1, ...returns.map((x) => (eq *= 1 + x))];
    const trades = expected.flatMap((e) => e.oos.trades.map((t) => ({ pnl: t.pnl })));
    const m = computeMetrics({ equity, dates: curveDates, trades, barsInPosition: expected.reduce((h, e) => h + e.oos.barsInPosition, 0), periodsPerYear: 365 });
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const wfe = mean(expected.map((e) => sr(e.oos.metrics))) / mean(expected.map((e) => e.is));
    const { rows } = await db.pool.query("SELECT *, to_char(max_drawdown_peak_date, 'YYYY-MM-DD') AS peak, to_char(max_drawdown_trough_date, 'YYYY-MM-DD') AS trough, array_length(curve_dates, 1) AS points, to_char(curve_dates[1], 'YYYY-MM-DD') AS first FROM walk_forwards WHERE walk_forward_id = $1", [r.walkForwardId]);
    const row = rows[0];
    expect({ windows: row.windows, trades: row.trades, n_returns: row.n_returns, train: row.train, test: row.test, peak: row.peak, trough: row.trough, points: row.points, first: row.first }).toEqual({
      windows: expected.length,
      trades: m.trades,
      n_returns: returns.length,
      train: 365,
      test: 365,
      peak: m.max_drawdown_peak_date,
      trough: m.max_drawdown_trough_date,
      points: equity.length,
      first: curveDates[0],
    });
    for (const k of ["total_return", "cagr", "sharpe", "sortino", "max_drawdown", "calmar", "var_95", "cvar_95", "win_rate", "profit_factor", "exposure"] as const) expectRel(row[k], m[k], k);
    expectRel(row.wfe, wfe, "wfe");
    equity.forEach((v, i) => expectRel(row.curve_equity[i], v, `curve ${i}`));

    // The full-period best: every combination on the stitched curve's bars (first test bar to the last), the
    // highest Sharpe chosen on that very range; its curve has every bar of it.
    const [a, b] = [expected[0]!.s, expected.at(-1)!.testEnd];
    const full = pairs.map((p) => bt(actionsOf(p), a, b));
    const fullSharpes = full.map((x) => sr(x.metrics));
    const bi = fullSharpes.findIndex((x) => sharpeTied(x, Math.max(...fullSharpes)));
    const { rows: [bestRow] } = await db.pool.query(
      "SELECT best_fast, best_slow, best_sharpe, best_total_return, best_curve_equity, array(SELECT to_char(d, 'YYYY-MM-DD') FROM unnest(best_curve_dates) d) AS best_dates FROM walk_forwards WHERE walk_forward_id = $1",
      [r.walkForwardId],
    );
    expect([bestRow.best_fast, bestRow.best_slow]).toEqual(pairs[bi]);
    expectRel(bestRow.best_sharpe, fullSharpes[bi]!, "best sharpe");
    expectRel(bestRow.best_total_return, full[bi]!.metrics.total_return, "best total return");
    expect(bestRow.best_dates).toEqual(bars.dates.slice(a, b + 1));
    expect(bestRow.best_curve_equity).toHaveLength(b - a + 1);
    full[bi]!.equity.forEach((v, i) => expectRel(bestRow.best_curve_equity[i], v, `best curve ${i}`));

    // Re-enqueueing the same walk-forward adds nothing; a window or the root run again (a retry, a resumed
    // flow) replaces its row with the same values.
    expect(await enqueueWalkForward(tf.fleet, spec, n)).toMatchObject({ walkForwardId: r.walkForwardId, created: false, windows: expected.length });
    const queue = tf.fleet.queue(backtestKind);
    const again = backtestProcessor({ pool: db.pool, fleet: tf.fleet, cfg: parseConfig({}), log: tf.log.log, compute });
    for (const id of [`wf.${r.walkForwardId}.window3`, r.rootJobId]) {
      const job = (await Job.fromId(queue, id))!;
      await again(parsePayload(backtestKind, job.data), { job, signal: new AbortController().signal } as unknown as JobContext);
    }
    expect(await loadWalkForwardWindows(db.pool, r.walkForwardId)).toEqual(stored);
    const { rows: after } = await db.pool.query("SELECT count(*)::int AS n, max(total_return) AS total_return, max(wfe) AS wfe FROM walk_forwards");
    expect(after).toEqual([{ n: 1, total_return: row.total_return, wfe: row.wfe }]);
  });

  it("walk-forward --wait prints the stored windows, the stitched OOS metrics and the WFE", { timeout: 120_000 }, async () => {
    const args = ["walk-forward", "--strategy", "ema_cross", "--asset", "BTC-USD", "--fast", "5..10:5", "--slow", "20..30", "--step", "10", "--train", "730", "--test", "730", "--wait"];
    const env = { ...process.env, REDIS_URL: redisUrl(), DATABASE_URL: db.url, QUEUE_PREFIX: tf.prefix, NODE_ENV: "test", LOG_LEVEL: "warn", LOG_PRETTY: "false" };
    const { stdout } = await execFileP(process.execPath, ["--import", "tsx", "apps/cli/enqueue.ts", ...args], { cwd: ROOT, env, timeout: 90_000 });
    const id = /walk-forward (\S+):/.exec(stdout)![1]!;
    const [windows, summary] = await Promise.all([loadWalkForwardWindows(db.pool, id), findWalkForward(db.pool, id)]);
    expect(windows).toHaveLength(4);
    expect(stdout.split("\n")).toEqual([`enqueued walk-forward ${id}: 4 windows of 4 combinations`, ...walkForwardReport(windows, summary!), ""]);
    expect(stdout).toContain(`  0  2014-09-17..2016-09-15  2016-09-16..2018-09-15`);

    // No window fits: refused before anything is enqueued, naming the flags and n.
    const refused = await execFileP(process.execPath, ["--import", "tsx", "apps/cli/enqueue.ts", ...args.slice(0, -5), "--train", "2981", "--test", "10"], { cwd: ROOT, env, timeout: 60_000 }).catch((e: { code: number; stderr: string }) => e);
    expect(refused).toMatchObject({ code: 2, stderr: "ta-fleet enqueue: --train/--test: no window fits BTC-USD's n = 2982 bars: the first test window starts at bar --train = 2981, which must be ≤ n − 2 = 2980\n" });
  });

  it("refuses bad flags naming the flag and value", () => {
    const cfg = parseConfig({});
    const values = { strategy: "ema_cross", asset: "BTC-USD", fast: "5..20:5", slow: "30..60:10", train: "365", test: "365" };
    expect(() => walkForwardCommand.prepare({ ...values, train: undefined }, [], cfg)).toThrow(new UsageError("--train: required, a number of bars 2..100000 (got nothing)"));
    expect(() => walkForwardCommand.prepare({ ...values, test: "1" }, [], cfg)).toThrow(new UsageError('--test: must be an integer 2..100000 (got "1")'));
    expect(() => walkForwardCommand.prepare({ ...values, fast: "5..x" }, [], cfg)).toThrow(
      new UsageError('--fast: non-integer value "x" (got "5..x"; expected LO..HI or LO..HI:STEP)'),
    );
    expect(() => walkForwardCommand.prepare({ ...values, slow: "60..30" }, [], cfg)).toThrow(new UsageError('--slow: lo > hi (60 > 30) (got "60..30"; expected LO..HI or LO..HI:STEP)'));
    expect(() => walkForwardCommand.prepare({ ...values, "fee-bps": "-1" }, [], cfg)).toThrow(new UsageError('--fee-bps: must be 0..1000 (got "-1")'));
    expect(() => walkForwardCommand.prepare(values, [], parseConfig({ SWEEP_MAX_COMBINATIONS: "10" }))).toThrow(
      new UsageError("--fast/--slow: 16 fast < slow combinations, over SWEEP_MAX_COMBINATIONS (10); narrow the ranges or use a larger step"),
    );
    expect(typeof walkForwardCommand.prepare(values, [], cfg)).toBe("function");
  });
});
