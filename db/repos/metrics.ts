// observability.metrics: batch insert, and the read side — percentiles and rates over a window, grouped
// by label keys — plus the latest data-quality figures per symbol for the Prometheus endpoint.
import type { Pool, PoolClient } from "../pool.ts";

type Db = Pick<Pool | PoolClient, "query">;

export interface MetricRowInput {
  /** Epoch milliseconds. */
  at: number;
  name: string;
  type: "counter" | "gauge" | "histogram";
  value: number;
  component: string;
  /** Labels as JSON text. */
  labels: string;
}

export async function insertMetrics(db: Db, rows: readonly MetricRowInput[]): Promise<void> {
  if (!rows.length) return;
  await db.query(
    `INSERT INTO observability.metrics (recorded_at, metric_name, metric_type, value, component, labels)
     SELECT to_timestamp(at / 1000.0), n, t, v, c, l::jsonb
     FROM unnest($1::float8[], $2::text[], $3::text[], $4::float8[], $5::text[], $6::text[]) AS u(at, n, t, v, c, l)`,
    [rows.map((r) => r.at), rows.map((r) => r.name), rows.map((r) => r.type), rows.map((r) => r.value), rows.map((r) => r.component), rows.map((r) => r.labels)],
  );
}

export interface WindowQuery {
  name: string;
  windowSeconds: number;
  /** Only rows whose labels contain these. */
  where?: Record<string, string>;
  /** Label keys to group by (absent keys group as null). */
  groupBy?: readonly string[];
  /** End of the window; defaults to now. */
  until?: Date;
}

export interface Percentiles {
  group: Record<string, string | null>;
  p50: number;
  p95: number;
  p99: number;
  n: number;
}

// The group is built from label keys passed as values, so no identifier is ever interpolated.
const GROUP = `(SELECT coalesce(jsonb_object_agg(k, labels->>k), '{}'::jsonb) FROM unnest($4::text[]) AS k)`;

/** p50/p95/p99 (percentile_cont) of a histogram's observations over the window. */
export async function percentiles(db: Db, q: WindowQuery): Promise<Percentiles[]> {
  const { rows } = await db.query<{ grp: Record<string, string | null>; p: number[]; n: string }>(
    `SELECT ${GROUP} AS grp, percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY value) AS p, count(*) AS n
     FROM observability.metrics
     WHERE metric_name = $1 AND metric_type = 'histogram' AND labels @> $2::jsonb
       AND recorded_at > coalesce($5::timestamptz, now()) - make_interval(secs => $3) AND recorded_at <= coalesce($5::timestamptz, now())
     GROUP BY 1 ORDER BY 1`,
    [q.name, JSON.stringify(q.where ?? {}), q.windowSeconds, q.groupBy ?? [], q.until ?? null],
  );
  return rows.map((r) => ({ group: r.grp, p50: r.p[0]!, p95: r.p[1]!, p99: r.p[2]!, n: Number(r.n) }));
}

export interface Rate {
  group: Record<string, string | null>;
  /** Sum of the counter's increases in the window. */
  total: number;
  perSecond: number;
}

/** Per-second rate of a counter over the window (sum of increases / window length). */
export async function rates(db: Db, q: WindowQuery): Promise<Rate[]> {
  const { rows } = await db.query<{ grp: Record<string, string | null>; total: number }>(
    `SELECT ${GROUP} AS grp, sum(value) AS total
     FROM observability.metrics
     WHERE metric_name = $1 AND metric_type = 'counter' AND labels @> $2::jsonb
       AND recorded_at > coalesce($5::timestamptz, now()) - make_interval(secs => $3) AND recorded_at <= coalesce($5::timestamptz, now())
     GROUP BY 1 ORDER BY 1`,
    [q.name, JSON.stringify(q.where ?? {}), q.windowSeconds, q.groupBy ?? [], q.until ?? null],
  );
  return rows.map((r) => ({ group: r.grp, total: r.total, perSecond: r.total / q.windowSeconds }));
}

export interface QualityLatest {
  symbol: string;
  checkedAt: number;
  overallScore: number;
  freshnessScore: number;
  completenessScore: number;
  outlierScore: number;
  status: string;
  issueCount: number;
  staleSeconds: number;
  /** Totals over every stored check of the symbol. */
  checks: number;
  outliersTotal: number;
  durationSumSeconds: number;
}

/** The newest quality check per symbol, with totals over all of its checks. */
export async function latestQuality(db: Db): Promise<QualityLatest[]> {
  const { rows } = await db.query<Record<string, number | string>>(
    `SELECT DISTINCT ON (symbol) symbol, extract(epoch FROM checked_at)::float8 AS checked_at, overall_score, freshness_score,
            completeness_score, outlier_score, status, issue_count, stale_seconds,
            count(*) OVER w AS checks, sum(outliers_detected) OVER w AS outliers_total, sum(check_duration_ms) OVER w / 1000.0 AS duration_sum
     FROM quality_metrics
     WINDOW w AS (PARTITION BY symbol)
     ORDER BY symbol, checked_at DESC, id DESC`,
  );
  return rows.map((r) => ({
    symbol: String(r.symbol),
    checkedAt: Number(r.checked_at),
    overallScore: Number(r.overall_score),
    freshnessScore: Number(r.freshness_score),
    completenessScore: Number(r.completeness_score),
    outlierScore: Number(r.outlier_score),
    status: String(r.status),
    issueCount: Number(r.issue_count),
    staleSeconds: Number(r.stale_seconds),
    checks: Number(r.checks),
    outliersTotal: Number(r.outliers_total),
    durationSumSeconds: Number(r.duration_sum),
  }));
}

/** Issues found over all checks, by symbol, severity and check type. */
export async function qualityIssueTotals(db: Db): Promise<Array<{ symbol: string; severity: string; issueType: string; n: number }>> {
  const { rows } = await db.query<{ symbol: string; severity: string; issue_type: string; n: string }>(
    `SELECT symbol, coalesce(i->>'severity', 'unknown') AS severity, coalesce(i->>'check', 'unknown') AS issue_type, count(*) AS n
     FROM quality_metrics
     CROSS JOIN LATERAL jsonb_array_elements(CASE WHEN jsonb_typeof(issues) = 'array' THEN issues ELSE '[]'::jsonb END) AS i
     GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`,
  );
  return rows.map((r) => ({ symbol: r.symbol, severity: r.severity, issueType: r.issue_type, n: Number(r.n) }));
}

/** Cumulative histogram buckets of check durations (seconds) per symbol, for `le` in `bounds`. */
export async function qualityDurationBuckets(db: Db, bounds: readonly number[]): Promise<Array<{ symbol: string; le: number; n: number }>> {
  const { rows } = await db.query<{ symbol: string; le: number; n: string }>(
    `SELECT q.symbol, b AS le, count(*) FILTER (WHERE q.check_duration_ms / 1000.0 <= b) AS n
     FROM quality_metrics q CROSS JOIN unnest($1::float8[]) AS b
     GROUP BY 1, 2 ORDER BY 1, 2`,
    [bounds],
  );
  return rows.map((r) => ({ symbol: r.symbol, le: Number(r.le), n: Number(r.n) }));
}
