import type { SweepRow } from "../../compute/backtest/sweep.ts";
import type { Pool, PoolClient } from "../pool.ts";

type Db = Pool | PoolClient;

/** A float8[] literal of exactly these doubles (String() of a double reads back to the same bits). */
const float8Array = (a: ArrayLike<number> | null) => (a === null ? null : `{${Array.from(a, String).join(",")}}`);

/**
 * Stores a chunk's rows in one statement. Each row's block arrays travel as one float8[] literal in a text[]
 * (unnest would flatten a 2-D array into scalars) and are cast back per row.
 */
export async function saveSweepResults(db: Db, sweepId: string, rows: SweepRow[]): Promise<number> {
  const col = <K extends keyof SweepRow>(k: K) => rows.map((r) => r[k]);
  const { rowCount } = await db.query(
    `INSERT INTO sweep_results (sweep_id, fast, slow, sharpe, total_return, max_drawdown, trades, n_returns, sr, g3, g4, block_mean, block_m2)
     SELECT $1, u.fast, u.slow, u.sharpe, u.total_return, u.max_drawdown, u.trades, u.n_returns, u.sr, u.g3, u.g4, u.bm::float8[], u.bm2::float8[]
     FROM unnest($2::int[], $3::int[], $4::float8[], $5::float8[], $6::float8[], $7::int[], $8::int[], $9::float8[], $10::float8[], $11::float8[], $12::text[], $13::text[])
       AS u(fast, slow, sharpe, total_return, max_drawdown, trades, n_returns, sr, g3, g4, bm, bm2)
     ON CONFLICT (sweep_id, fast, slow) DO UPDATE SET sharpe = EXCLUDED.sharpe, total_return = EXCLUDED.total_return,
       max_drawdown = EXCLUDED.max_drawdown, trades = EXCLUDED.trades, n_returns = EXCLUDED.n_returns, sr = EXCLUDED.sr,
       g3 = EXCLUDED.g3, g4 = EXCLUDED.g4, block_mean = EXCLUDED.block_mean, block_m2 = EXCLUDED.block_m2`,
    [sweepId, col("fast"), col("slow"), col("sharpe"), col("total_return"), col("max_drawdown"), col("trades"), col("n_returns"), col("sr"),
      col("g3"), col("g4"), rows.map((r) => float8Array(r.block_mean)), rows.map((r) => float8Array(r.block_m2))],
  );
  return rowCount ?? 0;
}

/** A stored top row: the headline columns of SweepRow. */
export type SweepTopRow = Pick<SweepRow, "fast" | "slow" | "sharpe" | "total_return" | "max_drawdown" | "trades">;

/** Top combinations by Sharpe (NaN Sharpe ranks last: PostgreSQL sorts NaN above every number). */
export async function topSweepResults(db: Db, sweepId: string, n: number): Promise<SweepTopRow[]> {
  const { rows } = await db.query<SweepTopRow>(
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
  /** With each row's PSR(0) when the sweep's research ran (null otherwise). */
  top: Array<SweepTopRow & { psr: number | null }>;
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
