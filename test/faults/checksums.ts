// What a daily refresh, a sweep and a walk-forward produce, reduced to a row count and an md5 per table, with the columns that
// say when or how long (not what) left out, and generated ids replaced by deterministic job ids (the sweep's id
// left out). Two runs that computed the same results have byte-identical checksums. An operator's rerun of a
// day (`--rerun N`) files its rows under job ids ending in `.rN`, next to what the interrupted run wrote: the
// suffix is dropped and identical rows counted once, so a rerun that rewrote exactly what a clean run writes
// checksums like it, and one row that differs (or is missing) shows.
import type { Pool } from "../../db/pool.ts";
import { SIGNAL_TABLES } from "../../db/repos/signals.ts";

const jobId = (column: string) => `regexp_replace(${column}, '\\.r[0-9]+$', '') AS job_id`;

const RESULTS: Readonly<Record<string, string>> = {
  ema_daily: "SELECT * FROM ema_daily",
  ema_multi_tf: "SELECT * FROM ema_multi_tf",
  returns_daily: "SELECT * FROM returns_daily",
  vol_daily: "SELECT * FROM vol_daily",
  ta_daily: "SELECT * FROM ta_daily",
  daily_features: "SELECT * FROM daily_features",
  // rows_written says what the last write changed: a retry that finds the rows in place writes none.
  feature_state: "SELECT asset_id, stage, tf, watermark_ts FROM feature_state",
  quality_metrics: `SELECT ${jobId("job_id")}, symbol, as_of, overall_score, freshness_score, completeness_score, outlier_score, outliers_detected, status,
    issue_count, issues, gaps, expected_rows, actual_rows, rowcount_deviation, null_ratio, null_ema_count, misaligned_bars, stale_seconds FROM quality_metrics`,
  // Every declared strategy's table, so a new strategy is compared without touching this file.
  ...Object.fromEntries(Object.values(SIGNAL_TABLES).map(({ table }) => [table, `SELECT * FROM ${table}`])),
  backtest_runs: `SELECT ${jobId("job_id")}, asset_id, signal_type, signal_id, params, params_hash, feature_version_hash, period_start, period_end, fee_bps,
    slippage_bps, periods_per_year, total_return, cagr, sharpe, sortino, max_drawdown, calmar, win_rate, profit_factor, trades, exposure, open_position FROM backtest_runs`,
  backtest_trades: `SELECT ${jobId("r.job_id")}, t.trade_id, t.entry_ts, t.exit_ts, t.entry_price, t.exit_price, t.units, t.pnl, t.ret FROM backtest_trades t JOIN backtest_runs r USING (run_id)`,
  backtest_metrics: `SELECT ${jobId("r.job_id")}, m.metric_name, m.value, m.text_value FROM backtest_metrics m JOIN backtest_runs r USING (run_id)`,
  backtest_equity: `SELECT ${jobId("r.job_id")}, e.ts, e.equity, e.drawdown FROM backtest_equity e JOIN backtest_runs r USING (run_id)`,
};

// One sweep ($1): every combination's row, its record and its research statistics.
const SWEEP_RESULTS: Readonly<Record<string, string>> = {
  sweep_results: "SELECT to_jsonb(r) - 'sweep_id' FROM sweep_results r WHERE sweep_id = $1",
  sweeps: "SELECT to_jsonb(s) - 'sweep_id' - 'finished_at' FROM sweeps s WHERE sweep_id = $1",
  sweep_research: "SELECT to_jsonb(r) - 'sweep_id' - 'computed_at' FROM sweep_research r WHERE sweep_id = $1",
};

export type Checksums = Record<string, { rows: number; md5: string }>;

async function checksums(pool: Pool, selects: Readonly<Record<string, string>>, params: unknown[] = []): Promise<Checksums> {
  const out: Checksums = {};
  for (const [table, select] of Object.entries(selects)) {
    const { rows } = await pool.query<{ rows: number; md5: string }>(
      `SELECT count(DISTINCT x::text)::int AS rows, md5(coalesce(string_agg(DISTINCT x::text, E'\\n' ORDER BY x::text), '')) AS md5 FROM (${select}) x`,
      params,
    );
    out[table] = rows[0]!;
  }
  return out;
}

export const resultChecksums = (pool: Pool) => checksums(pool, RESULTS);

export const sweepChecksums = (pool: Pool, sweepId: string) => checksums(pool, SWEEP_RESULTS, [sweepId]);

// One walk-forward ($1): every column of its stored result but the id it is stored under and when it was written.
const WALK_FORWARD_RESULTS: Readonly<Record<string, string>> = {
  walk_forward_windows: "SELECT to_jsonb(w) - 'walk_forward_id' - 'computed_at' FROM walk_forward_windows w WHERE walk_forward_id = $1",
  walk_forwards: "SELECT to_jsonb(w) - 'walk_forward_id' - 'created_at' - 'completed_at' FROM walk_forwards w WHERE walk_forward_id = $1",
};

export const walkForwardChecksums = (pool: Pool, walkForwardId: string) => checksums(pool, WALK_FORWARD_RESULTS, [walkForwardId]);

export const totalRows = (c: Checksums) => Object.values(c).reduce((n, t) => n + t.rows, 0);
