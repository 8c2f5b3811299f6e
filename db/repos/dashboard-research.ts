// Read side of the ops dashboard for research and LLM work: stored backtests with their equity curves,
// parameter sweeps with their full grids, and the LLM cost ledger by day.
import type { Pool, PoolClient } from "../pool.ts";
import type { WindowResult } from "../../compute/backtest/walk-forward.ts";
import type { WalkForwardHead } from "./walk-forward.ts";

type Db = Pick<Pool | PoolClient, "query">;

export interface BacktestListRow {
  runId: number;
  jobId: string;
  symbol: string;
  signalType: string;
  signalName: string | null;
  params: unknown;
  periodStart: string;
  periodEnd: string;
  feeBps: number;
  totalReturn: number;
  cagr: number;
  sharpe: number;
  sortino: number;
  maxDrawdown: number;
  calmar: number;
  winRate: number;
  profitFactor: number;
  trades: number;
  exposure: number;
  createdAt: Date;
  /** The daily-refresh run whose job stored it (its workflow events name the job); null outside a run. */
  flowRunId: string | null;
}

export interface BacktestFilter {
  limit: number;
  symbol?: string | undefined;
  signalType?: string | undefined;
}

/** The newest stored backtests with their headline metrics and the flow run each belongs to. */
export async function listBacktests(db: Db, f: BacktestFilter): Promise<BacktestListRow[]> {
  // workflow_events.metadata.jobId ties a run's jobs to the run; one pass over the events of the listed jobs
  // (a job id belongs to one run only: reruns get their own ids).
  const { rows } = await db.query<BacktestListRow>(
    `WITH r AS (
       SELECT r.run_id::float8 AS "runId", r.job_id AS "jobId", a.symbol, r.signal_type AS "signalType", s.signal_name AS "signalName",
              r.params, to_char(r.period_start, 'YYYY-MM-DD') AS "periodStart", to_char(r.period_end, 'YYYY-MM-DD') AS "periodEnd",
              r.fee_bps AS "feeBps", r.total_return AS "totalReturn", r.cagr, r.sharpe, r.sortino, r.max_drawdown AS "maxDrawdown",
              r.calmar, r.win_rate AS "winRate", r.profit_factor AS "profitFactor", r.trades, r.exposure, r.created_at AS "createdAt"
       FROM backtest_runs r JOIN assets a USING (asset_id) LEFT JOIN dim_signals s USING (signal_id)
       WHERE ($1::text IS NULL OR a.symbol = $1) AND ($2::text IS NULL OR r.signal_type = $2)
       ORDER BY r.created_at DESC, r.run_id DESC LIMIT $3),
     w AS (
       SELECT DISTINCT ON (e.metadata->>'jobId') e.metadata->>'jobId' AS job_id, e.workflow_id
       FROM observability.workflow_events e WHERE e.metadata->>'jobId' IN (SELECT "jobId" FROM r)
       ORDER BY e.metadata->>'jobId', e.recorded_at DESC)
     SELECT r.*, w.workflow_id AS "flowRunId" FROM r LEFT JOIN w ON w.job_id = r."jobId"
     ORDER BY r."createdAt" DESC, r."runId" DESC`,
    [f.symbol ?? null, f.signalType ?? null, f.limit],
  );
  return rows;
}

export interface EquityCurve {
  /** Bar dates as epoch seconds (UTC midnight). */
  t: number[];
  equity: number[];
  /** Fraction below the running peak (0.25 = 25 % down). */
  drawdown: number[];
}

/** A run's equity curve with drawdown, in date order (empty arrays when the run has none). */
export async function backtestEquity(db: Db, runId: number): Promise<EquityCurve> {
  const { rows } = await db.query<EquityCurve>(
    `SELECT coalesce(array_agg(extract(epoch FROM ts::timestamp)::float8 ORDER BY ts), '{}') AS t,
            coalesce(array_agg(equity ORDER BY ts), '{}') AS equity, coalesce(array_agg(drawdown ORDER BY ts), '{}') AS drawdown
     FROM backtest_equity WHERE run_id = $1`,
    [runId],
  );
  return rows[0]!;
}

export interface SweepListRow {
  sweepId: string;
  symbol: string;
  strategy: string;
  grid: unknown;
  feeBps: number;
  combos: number;
  chunks: number;
  status: string;
  failedChunks: number;
  top: unknown;
  finishedAt: Date;
  /** The sweep's research headline (null fields when skipped; all null for a sweep ranked before it existed; pbo null with pboSkippedReason when only the PBO was skipped). */
  research: { s: number | null; dsr: number | null; pbo: number | null; splits: number | null; bestFast: number | null; bestSlow: number | null; skippedReason: string | null; pboSkippedReason: string | null };
}

/** The newest finished sweeps, each with its DSR and PBO. */
export async function listSweeps(db: Db, limit: number): Promise<SweepListRow[]> {
  const { rows } = await db.query<SweepListRow>(
    `SELECT s.sweep_id AS "sweepId", a.symbol, s.strategy, s.grid, s.fee_bps AS "feeBps", s.combos, s.chunks, s.status,
            s.failed_chunks AS "failedChunks", s.top, s.finished_at AS "finishedAt",
            json_build_object('s', r.s, 'dsr', r.dsr, 'pbo', r.pbo, 'splits', r.splits, 'bestFast', r.best_fast, 'bestSlow', r.best_slow,
                              'skippedReason', r.skipped_reason, 'pboSkippedReason', r.pbo_skipped_reason) AS research
     FROM sweeps s JOIN assets a USING (asset_id) LEFT JOIN sweep_research r USING (sweep_id)
     ORDER BY s.finished_at DESC, s.sweep_id LIMIT $1`,
    [limit],
  );
  return rows;
}

export interface SweepResearchRow {
  sweepId: string;
  s: number;
  skippedReason: string | null;
  /** Why the PBO alone was skipped (its fields null; the DSR's present). */
  pboSkippedReason: string | null;
  n: number | null;
  t: number | null;
  v: number | null;
  sr0: number | null;
  srStar: number | null;
  g3: number | null;
  g4: number | null;
  dsr: number | null;
  bestFast: number | null;
  bestSlow: number | null;
  blockLength: number | null;
  splits: number | null;
  pbo: number | null;
  /** The λ histogram: 21 edges, 20 counts. */
  lambdaHistEdges: number[] | null;
  lambdaHistCounts: number[] | null;
  meanOosSharpe: number | null;
  slope: number | null;
  intercept: number | null;
  /** Per split: the IS-best combination's IS and OOS Sharpe (the OOS-vs-IS scatter). */
  isSharpe: number[] | null;
  oosSharpe: number[] | null;
  computedAt: Date;
}

/** A sweep's research row (DSR, PBO, λ histogram, OOS-vs-IS scatter); null if it has none. */
export async function sweepResearchRow(db: Db, sweepId: string): Promise<SweepResearchRow | null> {
  const { rows } = await db.query<SweepResearchRow>(
    `SELECT sweep_id AS "sweepId", s, skipped_reason AS "skippedReason", pbo_skipped_reason AS "pboSkippedReason", n, t, v, sr0, sr_star AS "srStar", g3, g4, dsr,
            best_fast AS "bestFast", best_slow AS "bestSlow", block_length AS "blockLength", splits, pbo,
            lambda_hist_edges AS "lambdaHistEdges", lambda_hist_counts AS "lambdaHistCounts", mean_oos_sharpe AS "meanOosSharpe",
            slope, intercept, is_sharpe AS "isSharpe", oos_sharpe AS "oosSharpe", computed_at AS "computedAt"
     FROM sweep_research WHERE sweep_id = $1`,
    [sweepId],
  );
  return rows[0] ?? null;
}

export interface SweepCell {
  fast: number;
  slow: number;
  sharpe: number;
  totalReturn: number;
  maxDrawdown: number;
  trades: number;
}

/** Every evaluated (fast, slow) combination of a sweep. */
export async function sweepGrid(db: Db, sweepId: string): Promise<SweepCell[]> {
  const { rows } = await db.query<SweepCell>(
    `SELECT fast, slow, sharpe, total_return AS "totalReturn", max_drawdown AS "maxDrawdown", trades
     FROM sweep_results WHERE sweep_id = $1 ORDER BY fast, slow`,
    [sweepId],
  );
  return rows;
}

export interface LedgerDay {
  /** Local day in the budget time zone, YYYY-MM-DD. */
  day: string;
  provider: string;
  calls: number;
  failed: number;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
}

/** LLM calls per local day (in `tz`) and provider over the last `days` days, today included. */
export async function llmLedgerByDay(db: Db, days: number, tz: string): Promise<LedgerDay[]> {
  const { rows } = await db.query<LedgerDay>(
    `SELECT to_char(started_at AT TIME ZONE $2, 'YYYY-MM-DD') AS day, provider, count(*)::int AS calls,
            (count(*) FILTER (WHERE status NOT IN ('ok', 'pending')))::int AS failed,
            coalesce(sum(input_tokens), 0)::float8 AS "inputTokens", coalesce(sum(output_tokens), 0)::float8 AS "outputTokens",
            coalesce(sum(cost_usd), 0)::float8 AS "costUsd"
     FROM llm_calls
     WHERE started_at >= (date_trunc('day', now() AT TIME ZONE $2) - make_interval(days => $1 - 1)) AT TIME ZONE $2
     GROUP BY 1, 2 ORDER BY 1, 2`,
    [days, tz],
  );
  return rows;
}

export interface WalkForwardListRow extends WalkForwardHead {
  symbol: string;
  totalReturn: number;
  cagr: number;
  sharpe: number;
  maxDrawdown: number;
  trades: number;
  /** First and last date of the stitched OOS curve. */
  oosStart: string;
  oosEnd: string;
  /** The full-period best (null on rows recorded before migration 035). */
  bestFast: number | null;
  bestSlow: number | null;
  bestSharpe: number | null;
  bestTotalReturn: number | null;
  completedAt: Date;
}

const WF_COLUMNS = `w.walk_forward_id AS "walkForwardId", a.symbol, w.strategy, w.grid, w.train, w.test, w.fee_bps AS "feeBps", w.windows,
  w.total_return AS "totalReturn", w.cagr, w.sharpe, w.max_drawdown AS "maxDrawdown", w.trades, w.mean_is_sharpe AS "meanIsSharpe",
  w.mean_oos_sharpe AS "meanOosSharpe", w.wfe, to_char(w.curve_dates[1], 'YYYY-MM-DD') AS "oosStart",
  to_char(w.curve_dates[array_upper(w.curve_dates, 1)], 'YYYY-MM-DD') AS "oosEnd", w.best_fast AS "bestFast", w.best_slow AS "bestSlow",
  w.best_sharpe AS "bestSharpe", w.best_total_return AS "bestTotalReturn", w.completed_at AS "completedAt"`;

/** Stored walk-forwards per asset (symbol ascending), the latest first within each; optionally one asset's. */
export async function listWalkForwards(db: Db, f: { limit: number; symbol?: string | undefined }): Promise<WalkForwardListRow[]> {
  const { rows } = await db.query<WalkForwardListRow>(
    `SELECT ${WF_COLUMNS} FROM walk_forwards w JOIN assets a USING (asset_id)
     WHERE $1::text IS NULL OR a.symbol = $1
     ORDER BY a.symbol, w.completed_at DESC, w.walk_forward_id LIMIT $2`,
    [f.symbol ?? null, f.limit],
  );
  return rows;
}

export type WalkForwardWindowRow = Pick<
  WindowResult,
  "k" | "trainStartDate" | "trainEndDate" | "testStartDate" | "testEndDate" | "fast" | "slow" | "isSharpe" | "oosSharpe" | "oosTotalReturn" | "oosTrades" | "openAtEnd"
>;

export interface WalkForwardDetail extends WalkForwardListRow {
  curveDates: string[];
  curveEquity: number[];
  bestCurveDates: string[] | null;
  bestCurveEquity: number[] | null;
  windowRows: WalkForwardWindowRow[];
}

/** One stored walk-forward with its windows (k ascending) and both curves; null if it is not stored. */
export async function walkForwardDetail(db: Db, walkForwardId: string): Promise<WalkForwardDetail | null> {
  const [head, windows] = await Promise.all([
    db.query<Omit<WalkForwardDetail, "windowRows">>(
      `SELECT ${WF_COLUMNS}, array(SELECT to_char(d, 'YYYY-MM-DD') FROM unnest(w.curve_dates) WITH ORDINALITY u(d, i) ORDER BY i) AS "curveDates",
              w.curve_equity AS "curveEquity",
              CASE WHEN w.best_curve_dates IS NULL THEN NULL
                   ELSE array(SELECT to_char(d, 'YYYY-MM-DD') FROM unnest(w.best_curve_dates) WITH ORDINALITY u(d, i) ORDER BY i) END AS "bestCurveDates",
              w.best_curve_equity AS "bestCurveEquity"
       FROM walk_forwards w JOIN assets a USING (asset_id) WHERE w.walk_forward_id = $1`,
      [walkForwardId],
    ),
    db.query<WalkForwardWindowRow>(
      `SELECT k, to_char(train_start_date, 'YYYY-MM-DD') AS "trainStartDate", to_char(train_end_date, 'YYYY-MM-DD') AS "trainEndDate",
              to_char(test_start_date, 'YYYY-MM-DD') AS "testStartDate", to_char(test_end_date, 'YYYY-MM-DD') AS "testEndDate", fast, slow,
              is_sharpe AS "isSharpe", oos_sharpe AS "oosSharpe", oos_total_return AS "oosTotalReturn", oos_trades AS "oosTrades",
              open_at_end AS "openAtEnd"
       FROM walk_forward_windows WHERE walk_forward_id = $1 ORDER BY k`,
      [walkForwardId],
    ),
  ]);
  const row = head.rows[0];
  return row ? { ...row, windowRows: windows.rows } : null;
}
