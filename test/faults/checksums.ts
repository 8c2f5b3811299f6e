// What a daily refresh produces, reduced to a row count and an md5 per table, with the columns that say
// when or how long (not what) left out, and the run's generated ids replaced by its deterministic job ids.
// Two runs that computed the same results have byte-identical checksums.
import type { Pool } from "../../db/pool.ts";
import { SIGNAL_TABLES } from "../../db/repos/signals.ts";

const RESULTS: Readonly<Record<string, string>> = {
  ema_daily: "SELECT * FROM ema_daily",
  ema_multi_tf: "SELECT * FROM ema_multi_tf",
  returns_daily: "SELECT * FROM returns_daily",
  vol_daily: "SELECT * FROM vol_daily",
  ta_daily: "SELECT * FROM ta_daily",
  daily_features: "SELECT * FROM daily_features",
  // rows_written says what the last write changed: a retry that finds the rows in place writes none.
  feature_state: "SELECT asset_id, stage, tf, watermark_ts FROM feature_state",
  quality_metrics: `SELECT job_id, symbol, as_of, overall_score, freshness_score, completeness_score, outlier_score, outliers_detected, status,
    issue_count, issues, gaps, expected_rows, actual_rows, rowcount_deviation, null_ratio, null_ema_count, misaligned_bars, stale_seconds FROM quality_metrics`,
  // Every declared strategy's table, so a new strategy is compared without touching this file.
  ...Object.fromEntries(Object.values(SIGNAL_TABLES).map(({ table }) => [table, `SELECT * FROM ${table}`])),
  backtest_runs: `SELECT job_id, asset_id, signal_type, signal_id, params, params_hash, feature_version_hash, period_start, period_end, fee_bps, slippage_bps,
    periods_per_year, total_return, cagr, sharpe, sortino, max_drawdown, calmar, win_rate, profit_factor, trades, exposure, open_position FROM backtest_runs`,
  backtest_trades: "SELECT r.job_id, t.trade_id, t.entry_ts, t.exit_ts, t.entry_price, t.exit_price, t.units, t.pnl, t.ret FROM backtest_trades t JOIN backtest_runs r USING (run_id)",
  backtest_metrics: "SELECT r.job_id, m.metric_name, m.value, m.text_value FROM backtest_metrics m JOIN backtest_runs r USING (run_id)",
  backtest_equity: "SELECT r.job_id, e.ts, e.equity, e.drawdown FROM backtest_equity e JOIN backtest_runs r USING (run_id)",
};

export type Checksums = Record<string, { rows: number; md5: string }>;

export async function resultChecksums(pool: Pool): Promise<Checksums> {
  const out: Checksums = {};
  for (const [table, select] of Object.entries(RESULTS)) {
    const { rows } = await pool.query<{ rows: number; md5: string }>(
      `SELECT count(*)::int AS rows, md5(coalesce(string_agg(x::text, E'\\n' ORDER BY x::text), '')) AS md5 FROM (${select}) x`,
    );
    out[table] = rows[0]!;
  }
  return out;
}

export const totalRows = (c: Checksums) => Object.values(c).reduce((n, t) => n + t.rows, 0);
