// What a research brief is built from (workers/llm/templates/research-brief.ts): the lab's own data about
// a run's assets as of its day. One parameterised query per function; every function takes the run's
// symbols and returns rows for those that have any.
import type { Pool, PoolClient } from "../pool.ts";
import { SIGNAL_TABLES } from "./signals.ts";

type Db = Pick<Pool | PoolClient, "query">;

export interface QualityIssue {
  check: string;
  severity: string;
  message: string;
}

export interface QualityContext {
  symbol: string;
  overallScore: number;
  status: string;
  issues: QualityIssue[];
}

/** The day's data-quality check per symbol (the latest when it ran more than once), with its issues. */
export async function qualityAsOf(db: Db, symbols: readonly string[], asOf: string): Promise<QualityContext[]> {
  const { rows } = await db.query<{ symbol: string; overall_score: number; status: string; issues: Array<Partial<QualityIssue>> }>(
    `SELECT DISTINCT ON (symbol) symbol, overall_score, status, issues
     FROM quality_metrics WHERE symbol = ANY($1::text[]) AND as_of = $2::date
     ORDER BY symbol, checked_at DESC`,
    [symbols, asOf],
  );
  return rows.map((r) => ({
    symbol: r.symbol,
    overallScore: Number(r.overall_score),
    status: r.status,
    issues: (Array.isArray(r.issues) ? r.issues : []).map((i) => ({ check: String(i.check ?? "?"), severity: String(i.severity ?? "?"), message: String(i.message ?? "") })),
  }));
}

export type PositionEvent = "opened" | "closed" | "open";

export interface PositionContext {
  symbol: string;
  strategy: string;
  /** opened / closed on the day, or still open from an earlier day. */
  event: PositionEvent;
  entryDate: string;
  entryPrice: number;
  exitDate: string | null;
  exitPrice: number | null;
}

// Position lifecycle columns common to every signals_<type> table (table names are code constants).
const POSITIONS = Object.values(SIGNAL_TABLES)
  .map((t) => `SELECT asset_id, signal_id, entry_ts, entry_price, exit_ts, exit_price FROM ${t.table}`)
  .join(" UNION ALL ");

/** Positions opened or closed on the day, and those open across it, per symbol and strategy (at most `limit`). */
export async function positionsAsOf(db: Db, symbols: readonly string[], asOf: string, limit = 100): Promise<PositionContext[]> {
  const { rows } = await db.query<{ symbol: string; signal_name: string; event: PositionEvent; entry_date: string; entry_price: number; exit_date: string | null; exit_price: number | null }>(
    `SELECT a.symbol, d.signal_name,
            CASE WHEN p.entry_ts = $2::date THEN 'opened' WHEN p.exit_ts = $2::date THEN 'closed' ELSE 'open' END AS event,
            to_char(p.entry_ts, 'YYYY-MM-DD') AS entry_date, p.entry_price,
            to_char(p.exit_ts, 'YYYY-MM-DD') AS exit_date, p.exit_price
     FROM (${POSITIONS}) p JOIN assets a USING (asset_id) JOIN dim_signals d USING (signal_id)
     WHERE a.symbol = ANY($1::text[])
       AND (p.entry_ts = $2::date OR p.exit_ts = $2::date OR (p.entry_ts < $2::date AND (p.exit_ts IS NULL OR p.exit_ts > $2::date)))
     ORDER BY a.symbol, d.signal_name, p.entry_ts
     LIMIT $3`,
    [symbols, asOf, limit],
  );
  return rows.map((r) => ({
    symbol: r.symbol,
    strategy: r.signal_name,
    event: r.event,
    entryDate: r.entry_date,
    entryPrice: Number(r.entry_price),
    exitDate: r.exit_date,
    exitPrice: r.exit_price === null ? null : Number(r.exit_price),
  }));
}

export interface SweepContext {
  symbol: string;
  sweepId: string;
  strategy: string;
  combos: number;
  finishedAt: string;
  /** The DSR's best combination (sweep_research), with its annualised Sharpe and total return (sweep_results). */
  bestFast: number | null;
  bestSlow: number | null;
  bestSharpe: number | null;
  bestTotalReturn: number | null;
  dsr: number | null;
  pbo: number | null;
  /** Why DSR/PBO were not computed, when they were not. */
  researchSkipped: string | null;
  /** Why the PBO alone was not computed (the DSR was), when it was not. */
  pboSkipped: string | null;
}

/** The latest sweep per symbol with its best combination, Deflated Sharpe Ratio and PBO. */
export async function latestSweeps(db: Db, symbols: readonly string[]): Promise<SweepContext[]> {
  const { rows } = await db.query<{
    symbol: string; sweep_id: string; strategy: string; combos: number; finished_at: string; best_fast: number | null; best_slow: number | null;
    best_sharpe: number | null; best_total_return: number | null; dsr: number | null; pbo: number | null; skipped_reason: string | null; pbo_skipped_reason: string | null; has_research: boolean;
  }>(
    `SELECT DISTINCT ON (a.symbol) a.symbol, s.sweep_id, s.strategy, s.combos, to_char(s.finished_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') AS finished_at,
            r.best_fast, r.best_slow, x.sharpe AS best_sharpe, x.total_return AS best_total_return, r.dsr, r.pbo,
            r.skipped_reason, r.pbo_skipped_reason, r.sweep_id IS NOT NULL AS has_research
     FROM sweeps s JOIN assets a USING (asset_id)
     LEFT JOIN sweep_research r ON r.sweep_id = s.sweep_id
     LEFT JOIN sweep_results x ON x.sweep_id = s.sweep_id AND x.fast = r.best_fast AND x.slow = r.best_slow
     WHERE a.symbol = ANY($1::text[])
     ORDER BY a.symbol, s.finished_at DESC, s.sweep_id`,
    [symbols],
  );
  const num = (v: number | null) => (v === null ? null : Number(v));
  return rows.map((r) => ({
    symbol: r.symbol,
    sweepId: r.sweep_id,
    strategy: r.strategy,
    combos: r.combos,
    finishedAt: r.finished_at,
    bestFast: r.best_fast,
    bestSlow: r.best_slow,
    bestSharpe: num(r.best_sharpe),
    bestTotalReturn: num(r.best_total_return),
    dsr: num(r.dsr),
    pbo: num(r.pbo),
    researchSkipped: r.has_research ? r.skipped_reason : "no DSR/PBO stored for this sweep",
    pboSkipped: r.pbo_skipped_reason,
  }));
}

export interface WalkForwardWindowContext {
  k: number;
  testStart: string;
  testEnd: string;
  fast: number;
  slow: number;
  oosSharpe: number;
}

export interface WalkForwardContext {
  symbol: string;
  walkForwardId: string;
  strategy: string;
  wfe: number;
  /** The chosen parameters per window, in window order: their drift over time. */
  windows: WalkForwardWindowContext[];
}

/** The latest walk-forward per symbol with the fast/slow chosen on each of its windows. */
export async function latestWalkForwards(db: Db, symbols: readonly string[]): Promise<WalkForwardContext[]> {
  const { rows } = await db.query<{ symbol: string; walk_forward_id: string; strategy: string; wfe: number; windows: WalkForwardWindowContext[] | null }>(
    `SELECT DISTINCT ON (a.symbol) a.symbol, w.walk_forward_id, w.strategy, w.wfe,
            (SELECT jsonb_agg(jsonb_build_object('k', x.k, 'testStart', to_char(x.test_start_date, 'YYYY-MM-DD'), 'testEnd', to_char(x.test_end_date, 'YYYY-MM-DD'),
                                                 'fast', x.fast, 'slow', x.slow, 'oosSharpe', x.oos_sharpe) ORDER BY x.k)
             FROM walk_forward_windows x WHERE x.walk_forward_id = w.walk_forward_id) AS windows
     FROM walk_forwards w JOIN assets a USING (asset_id)
     WHERE a.symbol = ANY($1::text[])
     ORDER BY a.symbol, w.completed_at DESC, w.walk_forward_id`,
    [symbols],
  );
  return rows.map((r) => ({ symbol: r.symbol, walkForwardId: r.walk_forward_id, strategy: r.strategy, wfe: Number(r.wfe), windows: r.windows ?? [] }));
}
