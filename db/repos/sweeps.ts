import type { SweepRow } from "../../compute/backtest/sweep.ts";
import type { Pool, PoolClient } from "../pool.ts";

type Db = Pool | PoolClient;

export async function saveSweepResults(db: Db, sweepId: string, rows: SweepRow[]): Promise<number> {
  const { rowCount } = await db.query(
    `INSERT INTO sweep_results (sweep_id, fast, slow, sharpe, total_return, max_drawdown, trades)
     SELECT $1, * FROM unnest($2::int[], $3::int[], $4::float8[], $5::float8[], $6::float8[], $7::int[])
     ON CONFLICT (sweep_id, fast, slow) DO UPDATE SET sharpe = EXCLUDED.sharpe, total_return = EXCLUDED.total_return,
       max_drawdown = EXCLUDED.max_drawdown, trades = EXCLUDED.trades`,
    [sweepId, rows.map((r) => r.fast), rows.map((r) => r.slow), rows.map((r) => r.sharpe), rows.map((r) => r.total_return),
      rows.map((r) => r.max_drawdown), rows.map((r) => r.trades)],
  );
  return rowCount ?? 0;
}

/** Top combinations by Sharpe (NaN Sharpe ranks last: PostgreSQL sorts NaN above every number). */
export async function topSweepResults(db: Db, sweepId: string, n: number): Promise<SweepRow[]> {
  const { rows } = await db.query<SweepRow>(
    `SELECT fast, slow, sharpe, total_return, max_drawdown, trades FROM sweep_results
     WHERE sweep_id = $1 ORDER BY (sharpe = 'NaN'), sharpe DESC, fast, slow LIMIT $2`,
    [sweepId, n],
  );
  return rows;
}

export interface SweepRecord {
  sweepId: string;
  assetId: number;
  strategy: string;
  grid: unknown;
  feeBps: number;
  combos: number;
  chunks: number;
  failedChunks: number;
  top: SweepRow[];
}

/** Records a finished sweep (the ranking job); a retried ranking replaces its record. */
export async function recordSweep(db: Db, s: SweepRecord): Promise<void> {
  await db.query(
    `INSERT INTO sweeps (sweep_id, asset_id, strategy, grid, fee_bps, combos, chunks, status, failed_chunks, top)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
     ON CONFLICT (sweep_id) DO UPDATE SET status = EXCLUDED.status, failed_chunks = EXCLUDED.failed_chunks, top = EXCLUDED.top, finished_at = now()`,
    [s.sweepId, s.assetId, s.strategy, JSON.stringify(s.grid), s.feeBps, s.combos, s.chunks, s.failedChunks ? "partial" : "completed", s.failedChunks, JSON.stringify(s.top)],
  );
}
