import { createHash } from "node:crypto";
import { inTransaction, type Pool, type PoolClient } from "../pool.ts";

type Db = Pool | PoolClient;

export interface BacktestRecord {
  jobId: string;
  assetId: number;
  signalType: string;
  signalId: number | null;
  params: unknown;
  paramsHash: string;
  featureVersionHash: string;
  periodStart: string;
  periodEnd: string;
  feeBps: number;
  slippageBps: number;
  periodsPerYear: number;
  metrics: Record<string, number | string | null>;
  openPosition: unknown;
  trades: Array<{ entryDate: string; exitDate: string; entryPrice: number; exitPrice: number; units: number; pnl: number; ret: number }>;
  /** Equity curve (one value per bar of `dates`). */
  dates: readonly string[];
  equity: ArrayLike<number>;
}

const HEADLINE = ["total_return", "cagr", "sharpe", "sortino", "max_drawdown", "calmar", "win_rate", "profit_factor", "trades", "exposure"] as const;

/** Stores a run with its trades, metrics and equity curve; a retried job replaces its own run. */
export async function saveBacktestRun(pool: Pool, r: BacktestRecord): Promise<number> {
  return inTransaction(pool, async (db) => {
    const h = HEADLINE.map((k) => r.metrics[k] as number);
    const { rows } = await db.query<{ run_id: string; fresh: boolean }>(
      `INSERT INTO backtest_runs (job_id, asset_id, signal_type, signal_id, params, params_hash, feature_version_hash, period_start, period_end,
         fee_bps, slippage_bps, periods_per_year, total_return, cagr, sharpe, sortino, max_drawdown, calmar, win_rate, profit_factor, trades,
         exposure, open_position)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23)
       ON CONFLICT (job_id) DO UPDATE SET feature_version_hash = EXCLUDED.feature_version_hash, period_start = EXCLUDED.period_start,
         period_end = EXCLUDED.period_end, total_return = EXCLUDED.total_return, cagr = EXCLUDED.cagr, sharpe = EXCLUDED.sharpe,
         sortino = EXCLUDED.sortino, max_drawdown = EXCLUDED.max_drawdown, calmar = EXCLUDED.calmar, win_rate = EXCLUDED.win_rate,
         profit_factor = EXCLUDED.profit_factor, trades = EXCLUDED.trades, exposure = EXCLUDED.exposure,
         open_position = EXCLUDED.open_position, created_at = now()
       RETURNING run_id, xmax = 0 AS fresh`,
      [r.jobId, r.assetId, r.signalType, r.signalId, JSON.stringify(r.params), r.paramsHash, r.featureVersionHash, r.periodStart, r.periodEnd,
        r.feeBps, r.slippageBps, r.periodsPerYear, ...h, r.openPosition === null ? null : JSON.stringify(r.openPosition)],
    );
    const runId = Number(rows[0]!.run_id);
    // A new row (xmax 0: inserted, not updated) has no details yet; a retried job's run replaces its own.
    const fresh = rows[0]!.fresh;
    await replaceRunDetails(db, runId, r, fresh);
    return runId;
  });
}

// Statements are round trips, each costing both ends more CPU than the rows it carries (a run's dozen were
// most of a backtest job's writes): a new run skips the deletes, and trades and metrics go in one statement.
async function replaceRunDetails(db: PoolClient, runId: number, r: BacktestRecord, fresh: boolean): Promise<void> {
  if (!fresh) {
    await db.query("DELETE FROM backtest_trades WHERE run_id = $1", [runId]);
    await db.query("DELETE FROM backtest_metrics WHERE run_id = $1", [runId]);
  }
  const t = r.trades;
  const m = Object.entries(r.metrics);
  await db.query(
    `WITH trades AS (
       INSERT INTO backtest_trades (run_id, trade_id, entry_ts, exit_ts, entry_price, exit_price, units, pnl, ret)
       SELECT $1, * FROM unnest($2::int[], $3::date[], $4::date[], $5::float8[], $6::float8[], $7::float8[], $8::float8[], $9::float8[]))
     INSERT INTO backtest_metrics (run_id, metric_name, value, text_value) SELECT $1, * FROM unnest($10::text[], $11::float8[], $12::text[])`,
    [runId, t.map((_, i) => i + 1), t.map((x) => x.entryDate), t.map((x) => x.exitDate), t.map((x) => x.entryPrice), t.map((x) => x.exitPrice),
      t.map((x) => x.units), t.map((x) => x.pnl), t.map((x) => x.ret),
      m.map(([k]) => k), m.map(([, v]) => (typeof v === "number" ? v : null)), m.map(([, v]) => (typeof v === "string" ? v : null))],
  );
  await saveCurve(db, runId, r, fresh);
}

/** sha256 of a curve's first n points: their dates and the exact bits of their equity. */
function curveHash(dates: readonly string[], equity: Float64Array, n: number): string {
  return createHash("sha256").update(dates.slice(0, n).join(",")).update(new Uint8Array(equity.buffer, equity.byteOffset, n * 8)).digest("hex");
}

/**
 * Links the run to its equity curve (migration 043): the latest curve of the same strategy configuration on
 * the asset when its stored points are this curve's prefix (same count up to the same last date, same hash),
 * extended by the new points; otherwise (first run, corrected data, other fees) a new curve with every
 * point.
 */
async function saveCurve(db: PoolClient, runId: number, r: BacktestRecord, fresh: boolean): Promise<void> {
  const equity = Float64Array.from(r.equity);
  const n = equity.length;
  if (r.dates.length !== n) throw new Error(`equity: ${n} values for ${r.dates.length} dates`);
  const { rows: cur } = await db.query<{ curve_id: string; points: number; hash: string | null; last_ts: string }>(
    `SELECT c.curve_id, c.points, c.hash, to_char(c.last_ts, 'YYYY-MM-DD') AS last_ts FROM backtest_curves c WHERE c.curve_id = (
       SELECT rc.curve_id FROM backtest_runs x JOIN backtest_run_curves rc USING (run_id)
       WHERE x.asset_id = $1 AND x.signal_type = $2 AND x.params_hash = $3 ORDER BY x.created_at DESC, x.run_id DESC LIMIT 1)
     FOR UPDATE`,
    [r.assetId, r.signalType, r.paramsHash],
  );
  const c = cur[0];
  const extends_ = c !== undefined && c.hash !== null && c.points <= n && r.dates[c.points - 1] === c.last_ts && curveHash(r.dates, equity, c.points) === c.hash;
  let curveId: string;
  let from: number;
  if (extends_) {
    curveId = c.curve_id;
    from = c.points;
    if (from < n) await db.query("UPDATE backtest_curves SET points = $2, last_ts = $3, hash = $4 WHERE curve_id = $1", [curveId, n, r.dates[n - 1], curveHash(r.dates, equity, n)]);
  } else {
    const { rows } = await db.query<{ curve_id: string }>("INSERT INTO backtest_curves (last_ts, points, hash) VALUES ($1, $2, $3) RETURNING curve_id", [r.dates[n - 1], n, curveHash(r.dates, equity, n)]);
    curveId = rows[0]!.curve_id;
    from = 0;
  }
  if (from < n) {
    let peak = -Infinity;
    const drawdown = Array.from(equity, (e) => ((peak = Math.max(peak, e)), peak > 0 ? 1 - e / peak : 0));
    await db.query(
      `INSERT INTO backtest_curve_points (curve_id, ts, equity, drawdown) SELECT $1, * FROM unnest($2::date[], $3::float8[], $4::float8[])`,
      [curveId, r.dates.slice(from), Array.from(equity.subarray(from)), drawdown.slice(from)],
    );
  }
  const { rows: prev } = fresh ? { rows: [] } : await db.query<{ curve_id: string }>("SELECT curve_id FROM backtest_run_curves WHERE run_id = $1", [runId]);
  await db.query(
    "INSERT INTO backtest_run_curves (run_id, curve_id) VALUES ($1, $2) ON CONFLICT (run_id) DO UPDATE SET curve_id = EXCLUDED.curve_id",
    [runId, curveId],
  );
  // A retried run that moved to another curve leaves its old one behind: dropped unless another run uses it.
  const old = prev[0]?.curve_id;
  if (old !== undefined && old !== curveId) {
    await db.query("DELETE FROM backtest_curves WHERE curve_id = $1 AND NOT EXISTS (SELECT 1 FROM backtest_run_curves WHERE curve_id = $1)", [old]);
  }
}

export interface RunHead {
  run_id: number;
  feature_version_hash: string;
  params_hash: string;
  signal_type: string;
  metrics: Record<string, number>;
}

export async function getRun(db: Db, runId: number): Promise<RunHead | undefined> {
  const { rows } = await db.query<RunHead>(
    `SELECT r.run_id::int AS run_id, r.feature_version_hash, r.params_hash, r.signal_type,
            coalesce(jsonb_object_agg(m.metric_name, m.value) FILTER (WHERE m.value IS NOT NULL), '{}') AS metrics
     FROM backtest_runs r LEFT JOIN backtest_metrics m USING (run_id) WHERE r.run_id = $1 GROUP BY r.run_id`,
    [runId],
  );
  return rows[0];
}
