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
  /** N·S, combination-major; null when any row has no block summary. */
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

/** Every combination's statistics, in one query, in grid order; s = the sweep's PBO blocks. */
export async function loadSweepStats(db: Db, sweepId: string, s: number): Promise<SweepStats> {
  const { rows } = await db.query<StatsRow>(
    `SELECT fast, slow, n_returns, sr, g3, g4, block_mean, block_m2 FROM sweep_results WHERE sweep_id = $1 ORDER BY fast, slow`,
    [sweepId],
  );
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

export type SweepResearchRecord =
  | { sweepId: string; s: number; skipped: string }
  | { sweepId: string; s: number; skipped: null; dsr: DsrResult; pbo: PboResult; bestFast: number; bestSlow: number };

/** Stores (or, for a re-run ranking, replaces) a sweep's research row. */
export async function saveSweepResearch(db: Db, r: SweepResearchRecord): Promise<void> {
  const cols = [
    "sweep_id", "s", "skipped_reason", "n", "t", "v", "sr0", "sr_star", "g3", "g4", "dsr", "best_fast", "best_slow", "block_length", "splits", "pbo",
    "lambda_hist_edges", "lambda_hist_counts", "mean_oos_sharpe", "slope", "intercept", "is_sharpe", "oos_sharpe",
  ];
  const values =
    r.skipped !== null
      ? [r.sweepId, r.s, r.skipped, ...new Array<null>(cols.length - 3).fill(null)]
      : [
          r.sweepId, r.s, null, r.dsr.n, r.dsr.t, r.dsr.v, r.dsr.sr0, r.dsr.srStar, r.dsr.g3, r.dsr.g4, r.dsr.dsr, r.bestFast, r.bestSlow,
          r.pbo.blockLength, r.pbo.splits, r.pbo.pbo, Array.from(r.pbo.histogram.edges), Array.from(r.pbo.histogram.counts), r.pbo.meanOosSharpe,
          r.pbo.slope, r.pbo.intercept, Array.from(r.pbo.isSharpe), Array.from(r.pbo.oosSharpe),
        ];
  await db.query(
    `INSERT INTO sweep_research (${cols.join(", ")}) VALUES (${cols.map((_, i) => `$${i + 1}`).join(", ")})
     ON CONFLICT (sweep_id) DO UPDATE SET ${cols.slice(1).map((c) => `${c} = EXCLUDED.${c}`).join(", ")}, computed_at = now()`,
    values,
  );
}
