// Equity curves shared between runs (migration 043): a run over yesterday's bars plus one stores only the new
// point; a changed prefix (corrected data) or a retry with other results stores a curve of its own; every run
// still reads exactly its own curve through backtest_equity.
import { resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { importPrices } from "../../db/import/import-prices.ts";
import { saveBacktestRun, type BacktestRecord } from "../../db/repos/backtests.ts";
import { DATA_DIR } from "../../db/sample-data.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/db.ts";

let db: TestDatabase;
let dates: string[];
let assetId: number;

beforeAll(async () => {
  db = await createTestDatabase();
  await importPrices(db.pool, resolve(DATA_DIR, "BTC-USD_daily.csv"), "BTC-USD", "CRYPTO");
  const { rows } = await db.pool.query<{ asset_id: number; d: string[] }>(
    "SELECT asset_id, array_agg(to_char(ts, 'YYYY-MM-DD') ORDER BY ts) AS d FROM prices_daily GROUP BY asset_id",
  );
  assetId = rows[0]!.asset_id;
  dates = rows[0]!.d.slice(0, 400);
}, 60_000);
afterAll(async () => {
  await db?.drop();
});

const metrics = Object.fromEntries(["total_return", "cagr", "sharpe", "sortino", "max_drawdown", "calmar", "win_rate", "profit_factor", "trades", "exposure"].map((k) => [k, 0]));
/** A causal curve over the first n days; `bump` changes one day's value (a corrected bar). */
const curve = (n: number, bump?: number) => Float64Array.from({ length: n }, (_, i) => 10_000 * (1 + 0.3 * Math.sin(i / 17)) + (i === bump ? 1 : 0));
/** `trades` closed trades, the i-th from day i to day i + 1 (a retry with other results has other trades). */
const record = (jobId: string, n: number, bump?: number, trades = 0): BacktestRecord => ({
  jobId, assetId, signalType: "ema_crossover", signalId: null, params: { fast: 9, slow: 21 }, paramsHash: "0123456789abcdef", featureVersionHash: "fedcba9876543210",
  periodStart: dates[0]!, periodEnd: dates[n - 1]!, feeBps: 10, slippageBps: 0, periodsPerYear: 365, metrics, openPosition: null,
  trades: Array.from({ length: trades }, (_, i) => ({ entryDate: dates[i]!, exitDate: dates[i + 1]!, entryPrice: 100 + i, exitPrice: 101 + i, units: 1, pnl: 1, ret: 0.01 })),
  dates: dates.slice(0, n), equity: curve(n, bump),
});

const points = async () => (await db.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM backtest_curve_points")).rows[0]!.n;
const stored = async (runId: number) =>
  (await db.pool.query<{ e: number; dd: number }>("SELECT equity AS e, drawdown AS dd FROM backtest_equity WHERE run_id = $1 ORDER BY ts", [runId])).rows;
const expected = (n: number, bump?: number) => {
  let peak = -Infinity;
  return Array.from(curve(n, bump), (e) => ((peak = Math.max(peak, e)), { e, dd: peak > 0 ? 1 - e / peak : 0 }));
};

describe("backtest equity curves", () => {
  it("the next day's run stores one point; a corrected prefix or a changed retry gets its own curve", async () => {
    const day1 = await saveBacktestRun(db.pool, record("bt.day1", 399));
    expect(await points()).toBe(399);
    const day2 = await saveBacktestRun(db.pool, record("bt.day2", 400));
    expect(await points()).toBe(400);
    expect(await stored(day1)).toEqual(expected(399));
    expect(await stored(day2)).toEqual(expected(400));

    // The data were corrected on day 50: the stored prefix no longer matches, so the whole curve is stored.
    const fixed = await saveBacktestRun(db.pool, record("bt.fixed", 400, 50));
    expect(await points()).toBe(800);
    expect(await stored(fixed)).toEqual(expected(400, 50));
    expect(await stored(day2)).toEqual(expected(400));

    // A retry with the same results writes nothing; one with other results replaces its curve (the old one dropped).
    expect(await saveBacktestRun(db.pool, record("bt.fixed", 400, 50))).toBe(fixed);
    expect(await points()).toBe(800);
    expect(await saveBacktestRun(db.pool, record("bt.fixed", 400, 60, 3))).toBe(fixed);
    expect(await points()).toBe(800);
    expect(await stored(fixed)).toEqual(expected(400, 60));
    // Its trades and metrics are the retry's, not added to the first attempt's.
    expect(await saveBacktestRun(db.pool, record("bt.fixed", 400, 60, 2))).toBe(fixed);
    const details = await db.pool.query<{ trades: number; metrics: number; last: string }>(
      `SELECT (SELECT count(*)::int FROM backtest_trades WHERE run_id = $1) AS trades, (SELECT count(*)::int FROM backtest_metrics WHERE run_id = $1) AS metrics,
              (SELECT max(entry_price)::text FROM backtest_trades WHERE run_id = $1) AS last`,
      [fixed],
    );
    expect(details.rows[0]).toEqual({ trades: 2, metrics: Object.keys(metrics).length, last: "101" });
    expect(await stored(day1)).toEqual(expected(399));
  });
});
