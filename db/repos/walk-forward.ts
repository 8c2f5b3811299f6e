// Walk-forward rows: one per window (stored by its window job) and one summary per walk-forward (stored
// by the root job once every window is done). Both upsert, so a retried or resumed job replaces its row.
import type { BacktestMetrics } from "../../compute/backtest/metrics.ts";
import type { WindowResult } from "../../compute/backtest/walk-forward.ts";
import type { Pool, PoolClient } from "../pool.ts";

type Db = Pool | PoolClient;

/** A float8[] literal of exactly these doubles (String() of a double reads back to the same bits; NaN too). */
const float8Array = (a: ArrayLike<number>) => `{${Array.from(a, String).join(",")}}`;

export async function saveWalkForwardWindow(db: Db, walkForwardId: string, w: WindowResult): Promise<void> {
  await db.query(
    `INSERT INTO walk_forward_windows (walk_forward_id, k, train_start, train_end, train_start_date, train_end_date, test_start, test_end,
       test_start_date, test_end_date, fast, slow, is_sharpe, oos_sharpe, oos_total_return, oos_trades, open_at_end, returns, trade_pnl, bars_in_position)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18::float8[], $19::float8[], $20)
     ON CONFLICT (walk_forward_id, k) DO UPDATE SET train_start = EXCLUDED.train_start, train_end = EXCLUDED.train_end,
       train_start_date = EXCLUDED.train_start_date, train_end_date = EXCLUDED.train_end_date, test_start = EXCLUDED.test_start,
       test_end = EXCLUDED.test_end, test_start_date = EXCLUDED.test_start_date, test_end_date = EXCLUDED.test_end_date, fast = EXCLUDED.fast,
       slow = EXCLUDED.slow, is_sharpe = EXCLUDED.is_sharpe, oos_sharpe = EXCLUDED.oos_sharpe, oos_total_return = EXCLUDED.oos_total_return,
       oos_trades = EXCLUDED.oos_trades, open_at_end = EXCLUDED.open_at_end, returns = EXCLUDED.returns, trade_pnl = EXCLUDED.trade_pnl,
       bars_in_position = EXCLUDED.bars_in_position, computed_at = now()`,
    [walkForwardId, w.k, w.trainStart, w.trainEnd, w.trainStartDate, w.trainEndDate, w.testStart, w.testEnd, w.testStartDate, w.testEndDate,
      w.fast, w.slow, w.isSharpe, w.oosSharpe, w.oosTotalReturn, w.oosTrades, w.openAtEnd, float8Array(w.returns), float8Array(w.tradePnl), w.barsInPosition],
  );
}

/** A stored window, in the shape the stitching and the CLI read. */
export type StoredWindow = Omit<WindowResult, "returns" | "tradePnl"> & { returns: number[]; tradePnl: number[] };

/** The stored windows of a walk-forward, k ascending. */
export async function loadWalkForwardWindows(db: Db, walkForwardId: string): Promise<StoredWindow[]> {
  const { rows } = await db.query<StoredWindow>(
    `SELECT k, train_start AS "trainStart", train_end AS "trainEnd", to_char(train_start_date, 'YYYY-MM-DD') AS "trainStartDate",
       to_char(train_end_date, 'YYYY-MM-DD') AS "trainEndDate", test_start AS "testStart", test_end AS "testEnd",
       to_char(test_start_date, 'YYYY-MM-DD') AS "testStartDate", to_char(test_end_date, 'YYYY-MM-DD') AS "testEndDate", fast, slow,
       is_sharpe AS "isSharpe", oos_sharpe AS "oosSharpe", oos_total_return AS "oosTotalReturn", oos_trades AS "oosTrades",
       open_at_end AS "openAtEnd", returns, trade_pnl AS "tradePnl", bars_in_position AS "barsInPosition"
     FROM walk_forward_windows WHERE walk_forward_id = $1 ORDER BY k`,
    [walkForwardId],
  );
  return rows;
}

/** What a walk-forward is stored under and its efficiency: shared by the record and the dashboard's rows. */
export interface WalkForwardHead {
  walkForwardId: string;
  strategy: string;
  grid: unknown;
  train: number;
  test: number;
  feeBps: number;
  windows: number;
  meanIsSharpe: number;
  meanOosSharpe: number;
  wfe: number;
}

export interface WalkForwardRecord extends WalkForwardHead {
  assetId: number;
  metrics: BacktestMetrics;
  curveDates: readonly string[];
  curveEquity: ArrayLike<number>;
  /** The full-period best over the stitched curve's bars (hindsightBest); null leaves the columns NULL. */
  best: WalkForwardBest | null;
}

/** What is stored of compute/backtest/walk-forward.ts's HindsightBest. */
export interface WalkForwardBest {
  fast: number;
  slow: number;
  sharpe: number;
  totalReturn: number;
  dates: readonly string[];
  equity: ArrayLike<number>;
}

/** Records a stitched walk-forward (the root job); a retried root replaces the record. */
export async function recordWalkForward(db: Db, r: WalkForwardRecord): Promise<void> {
  const m = r.metrics;
  const b = r.best;
  await db.query(
    `INSERT INTO walk_forwards (walk_forward_id, asset_id, strategy, grid, train, test, fee_bps, windows, total_return, cagr, sharpe, sortino,
       max_drawdown, max_drawdown_peak_date, max_drawdown_trough_date, calmar, var_95, cvar_95, win_rate, profit_factor, trades, exposure,
       n_returns, mean_is_sharpe, mean_oos_sharpe, wfe, curve_dates, curve_equity, best_fast, best_slow, best_sharpe, best_total_return,
       best_curve_dates, best_curve_equity)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27::date[], $28::float8[],
       $29, $30, $31, $32, $33::date[], $34::float8[])
     ON CONFLICT (walk_forward_id) DO UPDATE SET windows = EXCLUDED.windows, total_return = EXCLUDED.total_return, cagr = EXCLUDED.cagr,
       sharpe = EXCLUDED.sharpe, sortino = EXCLUDED.sortino, max_drawdown = EXCLUDED.max_drawdown,
       max_drawdown_peak_date = EXCLUDED.max_drawdown_peak_date, max_drawdown_trough_date = EXCLUDED.max_drawdown_trough_date,
       calmar = EXCLUDED.calmar, var_95 = EXCLUDED.var_95, cvar_95 = EXCLUDED.cvar_95, win_rate = EXCLUDED.win_rate,
       profit_factor = EXCLUDED.profit_factor, trades = EXCLUDED.trades, exposure = EXCLUDED.exposure, n_returns = EXCLUDED.n_returns,
       mean_is_sharpe = EXCLUDED.mean_is_sharpe, mean_oos_sharpe = EXCLUDED.mean_oos_sharpe, wfe = EXCLUDED.wfe,
       curve_dates = EXCLUDED.curve_dates, curve_equity = EXCLUDED.curve_equity, best_fast = EXCLUDED.best_fast, best_slow = EXCLUDED.best_slow,
       best_sharpe = EXCLUDED.best_sharpe, best_total_return = EXCLUDED.best_total_return, best_curve_dates = EXCLUDED.best_curve_dates,
       best_curve_equity = EXCLUDED.best_curve_equity, completed_at = now()`,
    [r.walkForwardId, r.assetId, r.strategy, JSON.stringify(r.grid), r.train, r.test, r.feeBps, r.windows, m.total_return, m.cagr, m.sharpe,
      m.sortino, m.max_drawdown, m.max_drawdown_peak_date, m.max_drawdown_trough_date, m.calmar, m.var_95, m.cvar_95, m.win_rate,
      m.profit_factor, m.trades, m.exposure, m.n_returns, r.meanIsSharpe, r.meanOosSharpe, r.wfe, `{${r.curveDates.join(",")}}`, float8Array(r.curveEquity),
      b?.fast ?? null, b?.slow ?? null, b?.sharpe ?? null, b?.totalReturn ?? null, b ? `{${b.dates.join(",")}}` : null, b ? float8Array(b.equity) : null],
  );
}

/** The stitched summary the CLI prints. */
export interface WalkForwardSummary {
  windows: number;
  total_return: number;
  cagr: number;
  sharpe: number;
  max_drawdown: number;
  trades: number;
  wfe: number;
}

export async function findWalkForward(db: Db, walkForwardId: string): Promise<WalkForwardSummary | undefined> {
  const { rows } = await db.query<WalkForwardSummary>(
    "SELECT windows, total_return, cagr, sharpe, max_drawdown, trades, wfe FROM walk_forwards WHERE walk_forward_id = $1",
    [walkForwardId],
  );
  return rows[0];
}
