/**
 * A parameter sweep's research statistics from its stored per-combination summaries (pure): the DSR of
 * the best combination, the PSR of chosen combinations and the PBO. Inputs are in grid order (fast
 * ascending, then slow ascending), the order every tie rule of ./dsr.ts and ./pbo.ts is defined in.
 *
 * Skip rule: a sweep of N < 2 combinations has no variance of Sharpe ratios and no rank to take, and
 * ⌊T/S⌋ < 2 leaves no variance within a block, and a NaN or infinite return (a bad price) has no Sharpe;
 * none is an error of the sweep, whose rows still rank, so the result names the reason instead of throwing.
 */
import { deflatedSharpeFromStats, psrFromStats, type DsrResult } from "./dsr.ts";
import { pboFromBlocks, type PboResult } from "./pbo.ts";

/**
 * The largest sweep whose research is computed. PBO compares every combination on each of the C(S, S/2)
 * splits, twice (12,870 at S = 16: ~3 s per 10,000 combinations on one core), and the ranking job first
 * loads every combination's 2·S block statistics; beyond this the sweep still ranks and is recorded, its
 * chunks store no block summaries, and its research is skipped with the reason (researchTooLarge).
 */
export const RESEARCH_MAX_COMBINATIONS = 100_000;

/** Why a sweep of n combinations gets no research, or null when it does (the same rule for chunks and ranking). */
export function researchTooLarge(n: number): string | null {
  if (n <= RESEARCH_MAX_COMBINATIONS) return null;
  return `N = ${n} combinations: DSR and PBO are computed for sweeps of up to ${RESEARCH_MAX_COMBINATIONS} (PBO's cost grows with N × C(S, S/2) splits)`;
}

export interface SweepResearchInput {
  /** T, the returns per combination. */
  t: number;
  /** S, the PBO blocks. */
  s: number;
  /** Per combination: SR, g3, g4 (./dsr.ts SharpeStats). */
  sr: Float64Array;
  g3: Float64Array;
  g4: Float64Array;
  /** N·S block means and M2 (./pbo.ts PboBlocks); null when ⌊T/S⌋ < 2 left none. */
  blockMean: Float64Array | null;
  blockM2: Float64Array | null;
  /** Grid indices whose PSR(0) is wanted (the stored top). */
  psrOf: Int32Array;
}

export type SweepResearch = { skipped: string } | { skipped: null; dsr: DsrResult; pbo: PboResult; psr: number[] };

export function sweepResearch(input: SweepResearchInput): SweepResearch {
  const { t, s, sr, g3, g4, blockMean, blockM2 } = input;
  const n = sr.length;
  if (n < 2) return { skipped: `N = ${n} combination(s); DSR and PBO need N ≥ 2` };
  const blockLength = Math.floor(t / s);
  if (blockLength < 2) {
    return { skipped: `T = ${t} returns and S = ${s} blocks leave ⌊T/S⌋ = ${blockLength} returns per block; PBO needs ≥ 2 (fewer blocks or more bars)` };
  }
  const bad = sr.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) return { skipped: `the combination at grid index ${bad} has a non-finite Sharpe (NaN or infinite returns)` };
  if (!blockMean || !blockM2) throw new Error(`sweepResearch: no block summaries although ⌊T/S⌋ = ${blockLength}`);
  const dsr = deflatedSharpeFromStats({ t, sr, g3, g4 });
  const pbo = pboFromBlocks({ n, t, s, blockLength, mean: blockMean, m2: blockM2 });
  const psr = Array.from(input.psrOf, (i) => psrFromStats(sr[i], g3[i], g4[i], t));
  return { skipped: null, dsr, pbo, psr };
}
