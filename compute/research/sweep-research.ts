/**
 * A parameter sweep's research statistics from its stored per-combination summaries (pure): the DSR of
 * the best combination, the PSR of chosen combinations and the PBO. Inputs are in grid order (fast
 * ascending, then slow ascending), the order every tie rule of ./dsr.ts and ./pbo.ts is defined in.
 *
 * Skip rule: a sweep of N < 2 combinations has no variance of Sharpe ratios and no rank to take, T < 2
 * returns have no standard deviation, and a NaN or infinite return (a bad price) has no Sharpe; then
 * neither DSR nor PBO exists. Otherwise the DSR (and the PSR of the top) is always computed — it needs one
 * SR, g3 and g4 per combination, cheap at any N — and only the PBO may be skipped, with its own reason: ⌊T/S⌋ < 2 leaves no variance within a block, and a
 * sweep over the PBO's size limit (pboTooLarge) is too costly to cross-validate. None is an error of the
 * sweep, whose rows still rank, so the result names the reason instead of throwing.
 */
import { deflatedSharpeFromStats, psrFromStats, type DsrResult } from "./dsr.ts";
import { pboFromBlocks, type PboResult } from "./pbo.ts";

/**
 * The largest sweep whose PBO is computed (the DSR has no limit). PBO compares every combination on each of
 * the C(S, S/2) splits, twice — N × C(S, S/2) × 2 Sharpe comparisons, 12,870 splits at S = 16: ~3 s per
 * 10,000 combinations on one core, minutes at 500,000 — and the ranking job first loads every
 * combination's 2·S block statistics. Beyond this the sweep's chunks store no block summaries and its PBO
 * is skipped with the reason; its DSR is still computed.
 */
export const PBO_MAX_COMBINATIONS = 100_000;

/**
 * Why a sweep of n combinations gets no PBO for its size, or null when it may (the same rule for chunks and
 * ranking; `max` is injectable so a test can exercise the rule without a 100,000-combination sweep).
 */
export function pboTooLarge(n: number, max = PBO_MAX_COMBINATIONS): string | null {
  if (n <= max) return null;
  return `N = ${n} combinations: PBO is computed for sweeps of up to ${max} (its cost grows with N × C(S, S/2) splits); the DSR is not limited`;
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
  /** N·S block means and M2 (./pbo.ts PboBlocks); null when the chunks stored none (⌊T/S⌋ < 2 or N over the limit). */
  blockMean: Float64Array | null;
  blockM2: Float64Array | null;
  /** Grid indices whose PSR(0) is wanted (the stored top). */
  psrOf: Int32Array;
  /** The PBO's size limit (pboTooLarge); default PBO_MAX_COMBINATIONS. */
  pboMaxCombinations?: number;
}

/** The DSR and PSR are present whenever the research is; the PBO, or why it was skipped. */
export type SweepResearch =
  | { skipped: string }
  | ({ skipped: null; dsr: DsrResult; psr: number[] } & ({ pbo: PboResult; pboSkipped: null } | { pbo: null; pboSkipped: string }));

/** Why the PBO of a sweep that has a DSR is skipped, or null when it is computed. */
function pboSkip(input: SweepResearchInput, n: number, blockLength: number): string | null {
  const tooLarge = pboTooLarge(n, input.pboMaxCombinations);
  if (tooLarge) return tooLarge;
  if (blockLength < 2) return `T = ${input.t} returns and S = ${input.s} blocks leave ⌊T/S⌋ = ${blockLength} returns per block; PBO needs ≥ 2 (fewer blocks or more bars)`;
  // Chunks decide on the block summaries by the same limit; a chunk run under another limit leaves gaps.
  if (!input.blockMean || !input.blockM2) return `some combinations were stored without PBO block summaries (N = ${n}, ⌊T/S⌋ = ${blockLength})`;
  return null;
}

export function sweepResearch(input: SweepResearchInput): SweepResearch {
  const { t, s, sr, g3, g4, blockMean, blockM2 } = input;
  const n = sr.length;
  if (n < 2) return { skipped: `N = ${n} combination(s); DSR and PBO need N ≥ 2` };
  if (t < 2) return { skipped: `T = ${t} return(s) per combination; DSR and PBO need T ≥ 2` };
  const bad = sr.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) return { skipped: `the combination at grid index ${bad} has a non-finite Sharpe (NaN or infinite returns)` };
  const dsr = deflatedSharpeFromStats({ t, sr, g3, g4 });
  const psr = Array.from(input.psrOf, (i) => psrFromStats(sr[i], g3[i], g4[i], t));
  const blockLength = Math.floor(t / s);
  const pboSkipped = pboSkip(input, n, blockLength);
  if (pboSkipped !== null) return { skipped: null, dsr, psr, pbo: null, pboSkipped };
  const pbo = pboFromBlocks({ n, t, s, blockLength, mean: blockMean!, m2: blockM2! });
  return { skipped: null, dsr, psr, pbo, pboSkipped: null };
}
