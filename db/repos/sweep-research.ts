// A sweep's research statistics: the per-combination summaries its chunks stored in sweep_results, read
// back in grid order for the ranking job, and the sweep's DSR / PBO row in sweep_research.
import type { DsrResult } from "../../compute/research/dsr.ts";
import type { PboResult } from "../../compute/research/pbo.ts";
import type { Pool, PoolClient } from "../pool.ts";

type Db = Pool | PoolClient;

export interface SweepStats {
  /** Grid order: fast ascending, then slow ascending. */
  fast: Int32Array;
  slow: Int32Array;
  /** The distinct n_returns of the rows (one value for a consistent sweep). */
  t: number[];
  /** Rows stored without the statistics (before migration 033). */
  missing: number;
  sr: Float64Array;
  g3: Float64Array;
  g4: Float64Array;
  /** N·S, combination-major; null when any row has no block summary, or when not loaded (withBlocks false). */
  blockMean: Float64Array | null;
  blockM2: Float64Array | null;
}

interface StatsRow {
  fast: number;
  slow: number;
  n_returns: number | null;
  sr: number | null;
  g3: number | null;
  g4: number | null;
  block_mean: number[] | null;
  block_m2: number[] | null;
}

/**
 * Every combination's statistics, in one query, in grid order; s = the sweep's PBO blocks. withBlocks false
 * (a sweep whose PBO is skipped for its size) leaves the block arrays unread: the DSR needs only SR, g3, g4.
 */
export async function loadSweepStats(db: Db, sweepId: string, s: number, withBlocks = true): Promise<SweepStats> {
  const blocks = withBlocks ? "block_mean, block_m2" : "NULL::float8[] AS block_mean, NULL::float8[] AS block_m2";
  const { rows } = await db.query<StatsRow>(`SELECT fast, slow, n_returns, sr, g3, g4, ${blocks} FROM sweep_results WHERE sweep_id = $1 ORDER BY fast, slow`, [sweepId]);
  const n = rows.length;
  const st: SweepStats = {
    fast: Int32Array.from(rows, (r) => r.fast),
    slow: Int32Array.from(rows, (r) => r.slow),
    t: [...new Set(rows.map((r) => r.n_returns).filter((t) => t !== null))],
    missing: rows.filter((r) => r.sr === null || r.g3 === null || r.g4 === null || r.n_returns === null).length,
    sr: Float64Array.from(rows, (r) => r.sr ?? Number.NaN),
    g3: Float64Array.from(rows, (r) => r.g3 ?? Number.NaN),
    g4: Float64Array.from(rows, (r) => r.g4 ?? Number.NaN),
    blockMean: null,
    blockM2: null,
  };
  if (rows.every((r) => r.block_mean?.length === s && r.block_m2?.length === s)) {
    st.blockMean = new Float64Array(n * s);
    st.blockM2 = new Float64Array(n * s);
    rows.forEach((r, c) => {
      st.blockMean!.set(r.block_mean!, c * s);
      st.blockM2!.set(r.block_m2!, c * s);
    });
  }
  return st;
}

/** Research skipped entirely, or the DSR with the PBO or with why the PBO alone was skipped (migration 041). */
export type SweepResearchRecord =
  | { sweepId: string; s: number; skipped: string }
  | ({ sweepId: string; s: number; skipped: null; dsr: DsrResult; bestFast: number; bestSlow: number } & ({ pbo: PboResult; pboSkipped: null } | { pbo: null; pboSkipped: string }));

const DSR_COLS = ["n", "t", "v", "sr0", "sr_star", "g3", "g4", "dsr", "best_fast", "best_slow"];
const PBO_COLS = ["block_length", "splits", "pbo", "lambda_hist_edges", "lambda_hist_counts", "mean_oos_sharpe", "slope", "intercept", "is_sharpe", "oos_sharpe"];

/** Stores (or, for a re-run ranking, replaces) a sweep's research row. */
export async function saveSweepResearch(db: Db, r: SweepResearchRecord): Promise<void> {
  const cols = ["sweep_id", "s", "skipped_reason", "pbo_skipped_reason", ...DSR_COLS, ...PBO_COLS];
  const nulls = (k: number): null[] => new Array<null>(k).fill(null);
  const dsr = (d: DsrResult, best: [number, number]) => [d.n, d.t, d.v, d.sr0, d.srStar, d.g3, d.g4, d.dsr, ...best];
  const pbo = (p: PboResult) => [
    p.blockLength, p.splits, p.pbo, Array.from(p.histogram.edges), Array.from(p.histogram.counts), p.meanOosSharpe, p.slope, p.intercept, Array.from(p.isSharpe), Array.from(p.oosSharpe),
  ];
  const values =
    r.skipped !== null
      ? [r.sweepId, r.s, r.skipped, null, ...nulls(DSR_COLS.length + PBO_COLS.length)]
      : [r.sweepId, r.s, null, r.pboSkipped, ...dsr(r.dsr, [r.bestFast, r.bestSlow]), ...(r.pbo ? pbo(r.pbo) : nulls(PBO_COLS.length))];
  await db.query(
    `INSERT INTO sweep_research (${cols.join(", ")}) VALUES (${cols.map((_, i) => `$${i + 1}`).join(", ")})
     ON CONFLICT (sweep_id) DO UPDATE SET ${cols.slice(1).map((c) => `${c} = EXCLUDED.${c}`).join(", ")}, computed_at = now()`,
    values,
  );
}
