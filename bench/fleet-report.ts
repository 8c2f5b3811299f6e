// What the fleet bench reads back: the workers' per-job metrics (observability.metrics: exact _count/_sum
// counters per flush, reservoir samples for percentiles), backtest table counts, and the spot check's
// checksums of an asset's feature rows and backtest results.
import type { Pool } from "../db/pool.ts";

/** Cumulative per-(queue, job) figures the workers have flushed so far. */
export interface JobTotals {
  /** key `queue/job` */
  byJob: Map<string, { queue: string; job: string; runs: number; runMs: number; waits: number; waitMs: number; rows: number; completed: number; failed: number; retried: number }>;
}

type Row = { queue: string; job: string; name: string; outcome: string; v: number };

export async function jobTotals(pool: Pool): Promise<JobTotals> {
  const { rows } = await pool.query<Row>(
    `SELECT labels->>'queue' AS queue, labels->>'job' AS job, metric_name AS name, coalesce(labels->>'outcome', '') AS outcome, sum(value)::float8 AS v
     FROM observability.metrics
     WHERE component = 'worker' AND metric_type = 'counter'
       AND metric_name IN ('job_run_ms_count', 'job_run_ms_sum', 'job_wait_ms_count', 'job_wait_ms_sum', 'rows_written', 'job_outcomes')
     GROUP BY 1, 2, 3, 4`,
  );
  const byJob: JobTotals["byJob"] = new Map();
  for (const r of rows) {
    const key = `${r.queue}/${r.job}`;
    let t = byJob.get(key);
    if (!t) byJob.set(key, (t = { queue: r.queue, job: r.job, runs: 0, runMs: 0, waits: 0, waitMs: 0, rows: 0, completed: 0, failed: 0, retried: 0 }));
    if (r.name === "job_run_ms_count") t.runs += r.v;
    else if (r.name === "job_run_ms_sum") t.runMs += r.v;
    else if (r.name === "job_wait_ms_count") t.waits += r.v;
    else if (r.name === "job_wait_ms_sum") t.waitMs += r.v;
    else if (r.name === "rows_written") t.rows += r.v;
    else if (r.outcome === "completed") t.completed += r.v;
    else if (r.outcome === "failed") t.failed += r.v;
    else if (r.outcome === "retrying") t.retried += r.v;
  }
  return { byJob };
}

export const completedJobs = (t: JobTotals) => [...t.byJob.values()].reduce((n, j) => n + j.completed, 0);

export interface JobStats {
  queue: string;
  job: string;
  completed: number;
  failed: number;
  retried: number;
  runs: number;
  runMs: number;
  waitMs: number;
  waits: number;
  rows: number;
  p50?: number;
  p95?: number;
  max?: number;
}

/** What happened between two snapshots, per (queue, job), with run-time percentiles from the samples in [from, to). */
export async function jobStats(pool: Pool, before: JobTotals, after: JobTotals, from: Date, to: Date): Promise<JobStats[]> {
  const { rows } = await pool.query<{ queue: string; job: string; p50: number; p95: number; max: number }>(
    `SELECT labels->>'queue' AS queue, labels->>'job' AS job,
            percentile_cont(0.5) WITHIN GROUP (ORDER BY value) AS p50, percentile_cont(0.95) WITHIN GROUP (ORDER BY value) AS p95, max(value) AS max
     FROM observability.metrics
     WHERE component = 'worker' AND metric_type = 'histogram' AND metric_name = 'job_run_ms' AND recorded_at >= $1 AND recorded_at < $2
     GROUP BY 1, 2`,
    [from, to],
  );
  const pct = new Map(rows.map((r) => [`${r.queue}/${r.job}`, r]));
  const out: JobStats[] = [];
  for (const [key, a] of after.byJob) {
    const b = before.byJob.get(key);
    const d = (k: "runs" | "runMs" | "waits" | "waitMs" | "rows" | "completed" | "failed" | "retried") => a[k] - (b?.[k] ?? 0);
    if (d("runs") === 0 && d("completed") === 0 && d("failed") === 0) continue;
    const p = pct.get(key);
    out.push({ queue: a.queue, job: a.job, completed: d("completed"), failed: d("failed"), retried: d("retried"), runs: d("runs"), runMs: d("runMs"), waits: d("waits"), waitMs: d("waitMs"), rows: d("rows"), ...(p ? { p50: p.p50, p95: p.p95, max: p.max } : {}) });
  }
  return out.sort((x, y) => y.runMs - x.runMs);
}

// Equity points live in backtest_curve_points (backtest_equity is a view repeating a shared curve per run).
const BACKTEST_TABLES = ["backtest_runs", "backtest_trades", "backtest_metrics", "backtest_curve_points"] as const;

/** Rows in the backtest tables (insert-only per run: a run's rows are new rows, so deltas count what was written). */
export async function backtestRows(pool: Pool): Promise<Record<(typeof BACKTEST_TABLES)[number], number>> {
  const { rows } = await pool.query<Record<string, number>>(`SELECT ${BACKTEST_TABLES.map((t) => `(SELECT count(*) FROM ${t})::int AS ${t}`).join(", ")}`);
  return rows[0] as Record<(typeof BACKTEST_TABLES)[number], number>;
}

export interface Checksums {
  featureRows: number;
  features: string;
  backtestRows: number;
  backtests: string;
}

/**
 * sha256 over an asset's rows in key order, each row as jsonb text (doubles keep their exact shortest
 * round-trip digits, NaN/Infinity as strings) without the surrogate keys that differ between databases
 * (asset_id, run_id, created_at): daily_features by day; backtest_runs by job id (deterministic:
 * backtest.<signal>.<asset>.<asOf>) with their backtest_metrics by (job id, metric).
 */
export async function checksums(pool: Pool, symbol: string): Promise<Checksums> {
  const digest = (rowText: string, key: string) => `encode(sha256(convert_to(coalesce(string_agg(${rowText}, E'\\n' ORDER BY ${key} COLLATE "C"), ''), 'UTF8')), 'hex')`;
  const f = await pool.query<{ n: number; h: string }>(
    `SELECT count(*)::int AS n, ${digest("(to_jsonb(f) - 'asset_id')::text", "f.ts::text")} AS h
     FROM daily_features f JOIN assets a USING (asset_id) WHERE a.symbol = $1`,
    [symbol],
  );
  const b = await pool.query<{ n: number; h: string }>(
    `SELECT count(*)::int AS n, ${digest("t.x", "t.k")} AS h FROM (
       SELECT r.job_id AS k, r.job_id || ' ' || (to_jsonb(r) - 'run_id' - 'asset_id' - 'created_at')::text AS x
       FROM backtest_runs r JOIN assets a USING (asset_id) WHERE a.symbol = $1
       UNION ALL
       SELECT r.job_id || ' ' || m.metric_name, r.job_id || ' ' || (to_jsonb(m) - 'run_id')::text
       FROM backtest_metrics m JOIN backtest_runs r USING (run_id) JOIN assets a USING (asset_id) WHERE a.symbol = $1
     ) t`,
    [symbol],
  );
  return { featureRows: f.rows[0]!.n, features: f.rows[0]!.h, backtestRows: b.rows[0]!.n, backtests: b.rows[0]!.h };
}

// ── Printing ───────────────────────────────────────────────────────────────────────────────────────────

export const int = (n: number) => Math.round(n).toLocaleString("en-US");
export const fixed = (n: number, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : "–");

/** A plain text table: the first column left-aligned, the others right-aligned. */
export function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  return [line(head), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}
