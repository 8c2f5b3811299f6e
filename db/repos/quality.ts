import type { Pool, PoolClient } from "../pool.ts";

type Db = Pool | PoolClient;

/** Trading days of the equity calendar (derived from the data) in [from, to]. */
export async function equityTradingDays(db: Db, from: string, to: string): Promise<string[]> {
  const { rows } = await db.query<{ d: string }>(
    "SELECT to_char(ts, 'YYYY-MM-DD') AS d FROM equity_trading_days WHERE ts BETWEEN $1 AND $2 ORDER BY ts",
    [from, to],
  );
  return rows.map((r) => r.d);
}

export interface FeatureHealth {
  rows: number;
  /** NULL share of the feature columns on rows past the longest warm-up (365 bars). */
  nullRatio: number;
  /** EMA values missing past their own warm-up (period − 1 bars). */
  nullEmas: number;
  outliers: number;
}

/**
 * One pass over the asset's feature rows. "Past row k" is "on or after the (k+1)-th day", the days taken by
 * an index scan of the first 366: a row_number() window over every row cost PostgreSQL 4× as much CPU (4.7 vs
 * 1.2 ms for 2,609 rows); a day beyond the asset's rows is NULL, and no row is past it.
 */
export async function featureHealth(db: Db, assetId: number, asOf: string): Promise<FeatureHealth> {
  const { rows } = await db.query<{ rows: number; checked: number; nulls: number; null_emas: number; outliers: number }>(
    `WITH d AS (SELECT array_agg(ts ORDER BY ts) AS day
                FROM (SELECT ts FROM daily_features WHERE asset_id = $1 AND ts <= $2 ORDER BY ts LIMIT 366) first_days)
     SELECT count(*)::int AS rows,
            (count(*) FILTER (WHERE ts >= d.day[366]))::int AS checked,
            coalesce(sum(num_nulls(ema_5, ema_9, ema_10, ema_21, ema_50, ema_100, ema_200, ret_1_pct, ret_365_pct,
                 vol_parkinson_20, atr_14, rsi_14, macd, macd_signal, stoch_k, stoch_d, bb_mid, adx_14)) FILTER (WHERE ts >= d.day[366]), 0)::int AS nulls,
            (count(*) FILTER (WHERE (ts >= d.day[5] AND ema_5 IS NULL) OR (ts >= d.day[9] AND ema_9 IS NULL) OR (ts >= d.day[10] AND ema_10 IS NULL)
                 OR (ts >= d.day[21] AND ema_21 IS NULL) OR (ts >= d.day[50] AND ema_50 IS NULL) OR (ts >= d.day[100] AND ema_100 IS NULL)
                 OR (ts >= d.day[200] AND ema_200 IS NULL)))::int AS null_emas,
            (count(*) FILTER (WHERE is_outlier))::int AS outliers
     FROM daily_features, d WHERE asset_id = $1 AND ts <= $2`,
    [assetId, asOf],
  );
  const r = rows[0]!;
  return { rows: r.rows, nullRatio: r.checked ? r.nulls / (r.checked * 18) : 0, nullEmas: r.null_emas, outliers: r.outliers };
}

/** Dates of canonical bars of one multi-timeframe EMA series (period 5 suffices: all periods share them). */
export async function canonicalDates(db: Db, assetId: number, tf: string, asOf: string): Promise<string[]> {
  const { rows } = await db.query<{ d: string }>(
    `SELECT to_char(ts, 'YYYY-MM-DD') AS d FROM ema_multi_tf
     WHERE asset_id = $1 AND tf = $2 AND period = 5 AND is_canonical AND ts <= $3 ORDER BY ts`,
    [assetId, tf, asOf],
  );
  return rows.map((r) => r.d);
}

export interface QualityRecord {
  jobId: string;
  symbol: string;
  asOf: string;
  overallScore: number;
  freshnessScore: number;
  completenessScore: number;
  outlierScore: number;
  outliersDetected: number;
  status: string;
  issues: unknown[];
  gaps: number;
  expectedRows: number;
  actualRows: number;
  rowcountDeviation: number;
  nullRatio: number;
  nullEmaCount: number;
  misalignedBars: number;
  staleSeconds: number;
  checkDurationMs: number;
}

/** One row per check job: a retried job replaces its own row. */
export async function saveQuality(db: Db, q: QualityRecord): Promise<void> {
  await db.query(
    `INSERT INTO quality_metrics (job_id, symbol, as_of, overall_score, freshness_score, completeness_score, outlier_score,
       outliers_detected, status, issue_count, issues, gaps, expected_rows, actual_rows, rowcount_deviation, null_ratio,
       null_ema_count, misaligned_bars, stale_seconds, check_duration_ms)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)
     ON CONFLICT (job_id) DO UPDATE SET checked_at = now(), overall_score = EXCLUDED.overall_score,
       freshness_score = EXCLUDED.freshness_score, completeness_score = EXCLUDED.completeness_score,
       outlier_score = EXCLUDED.outlier_score, outliers_detected = EXCLUDED.outliers_detected, status = EXCLUDED.status,
       issue_count = EXCLUDED.issue_count, issues = EXCLUDED.issues, gaps = EXCLUDED.gaps,
       expected_rows = EXCLUDED.expected_rows, actual_rows = EXCLUDED.actual_rows,
       rowcount_deviation = EXCLUDED.rowcount_deviation, null_ratio = EXCLUDED.null_ratio,
       null_ema_count = EXCLUDED.null_ema_count, misaligned_bars = EXCLUDED.misaligned_bars,
       stale_seconds = EXCLUDED.stale_seconds, check_duration_ms = EXCLUDED.check_duration_ms`,
    [q.jobId, q.symbol, q.asOf, q.overallScore, q.freshnessScore, q.completenessScore, q.outlierScore, q.outliersDetected, q.status,
      q.issues.length, JSON.stringify(q.issues), q.gaps, q.expectedRows, q.actualRows, q.rowcountDeviation, q.nullRatio, q.nullEmaCount,
      q.misalignedBars, q.staleSeconds, q.checkDurationMs],
  );
}

/** Recomputes the hourly and daily rollups for checks since `since` (idempotent). */
export async function refreshQualityRollups(db: Db, since: Date): Promise<{ hourly: number; daily: number }> {
  const hourly = await db.query(
    `INSERT INTO quality_metrics_hourly (bucket, symbol, checks, avg_score, min_score, max_score, total_issues)
     SELECT date_trunc('hour', checked_at), symbol, count(*), avg(overall_score), min(overall_score), max(overall_score), sum(issue_count)
     FROM quality_metrics WHERE checked_at >= date_trunc('hour', $1::timestamptz) GROUP BY 1, 2
     ON CONFLICT (bucket, symbol) DO UPDATE SET checks = EXCLUDED.checks, avg_score = EXCLUDED.avg_score,
       min_score = EXCLUDED.min_score, max_score = EXCLUDED.max_score, total_issues = EXCLUDED.total_issues`,
    [since],
  );
  const daily = await db.query(
    `INSERT INTO quality_metrics_daily (bucket, symbol, checks, avg_score, min_score, max_score, total_issues, pct_excellent, pct_good, pct_fair, pct_poor)
     SELECT (checked_at AT TIME ZONE 'UTC')::date, symbol, count(*), avg(overall_score), min(overall_score), max(overall_score), sum(issue_count),
            100.0 * count(*) FILTER (WHERE status = 'excellent') / count(*), 100.0 * count(*) FILTER (WHERE status = 'good') / count(*),
            100.0 * count(*) FILTER (WHERE status = 'fair') / count(*), 100.0 * count(*) FILTER (WHERE status = 'poor') / count(*)
     FROM quality_metrics WHERE checked_at >= date_trunc('day', $1::timestamptz AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' GROUP BY 1, 2
     ON CONFLICT (bucket, symbol) DO UPDATE SET checks = EXCLUDED.checks, avg_score = EXCLUDED.avg_score, min_score = EXCLUDED.min_score,
       max_score = EXCLUDED.max_score, total_issues = EXCLUDED.total_issues, pct_excellent = EXCLUDED.pct_excellent,
       pct_good = EXCLUDED.pct_good, pct_fair = EXCLUDED.pct_fair, pct_poor = EXCLUDED.pct_poor`,
    [since],
  );
  return { hourly: hourly.rowCount ?? 0, daily: daily.rowCount ?? 0 };
}
