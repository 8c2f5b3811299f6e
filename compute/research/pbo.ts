/**
 * Probability of backtest overfitting by combinatorially symmetric cross-validation (CSCV; Bailey,
 * Borwein, López de Prado & Zhu 2017), pure and deterministic.
 *
 * Definitions (ReturnsMatrix of N combinations × T returns, ./sharpe.ts; S blocks, k = S/2):
 *   L        = ⌊T/S⌋ returns per block; only the LAST S·L returns of each combination are used, cut into S
 *              consecutive blocks 0..S−1 in time order.
 *   splits   = the C(S, k) choices of k in-sample (IS) blocks, in lexicographic order of the ascending IS
 *              block index lists (pboSplits); the other k blocks are out-of-sample (OOS). Each set is the
 *              time-ordered concatenation of its blocks, k·L returns.
 *   Sharpe   = mean / std (ddof = 1) of a set, not annualised; 0 when the set's values are all identical
 *              (all-zero returns of a combination that does not trade there give exactly 0).
 *   n*       = the first combination in grid order whose IS Sharpe is tied (./sharpe.ts) with the exact
 *              maximum IS Sharpe.
 *   rank     = rank of n*'s OOS Sharpe among the N OOS Sharpes, 1 = lowest. Tie group = the OOS Sharpes
 *              tied with n*'s own (n* included): rank = #(lower, not tied) + (#tied + 1)/2, the average of
 *              the ranks the group occupies. (This equals the sort-and-group average rank whenever the
 *              values near n*'s are not a chain of near-ties spanning more than the tolerance.)
 *   λ        = ln(ω/(1 − ω)), ω = rank/(N + 1);  PBO = #(λ ≤ 0) / #splits.
 *   histogram: 20 bins; edges[i] = lo + i·(hi − lo)/20 for i < 20 and edges[20] = hi (numpy.linspace),
 *              lo/hi = min/max λ; bin i holds edges[i] ≤ λ < edges[i+1], the last bin also λ = hi — the
 *              same counts as numpy.histogram(λ, bins=20). If all λ are equal, every edge is that value and
 *              all counts go to bin 0 (numpy would widen the range to λ ± 0.5 instead).
 *   regression: least squares of OOS Sharpe (y) on IS Sharpe (x) of n* across splits, two-pass; if all x
 *              are identical the slope is 0 and the intercept mean(y).
 * Refused: N < 2, S not an even integer in 4..24, L < 2, and non-finite returns in the used rows.
 *
 * Speed (goal: N = 10,000, S = 16 → 12,870 splits in a few seconds on one core). No Sharpe is ever taken
 * over raw returns per split; sets are merged from summary statistics (Chan et al.'s parallel variance)
 * whose terms are all non-negative, so nothing cancels:
 *   1. Each block b of each combination → mean m_b and centred sum of squares M2_b (two-pass). A block of
 *      identical values stores that exact value and M2_b = 0. blockSummary does this for one combination
 *      and pboFromBlocks does everything after it, so a sweep can summarise each combination where it is
 *      backtested and never hold the N × T matrix; pbo(matrix) is the composition of the two.
 *   2. Per combination, each subset of each half of the blocks (A ⊆ {0..k−1}, B ⊆ {k..S−1}, 2·2^k subsets)
 *      → mean and M2, shifted by the subset's lowest block mean m_lo: with d_b = m_b − m_lo, D = Σ d_b,
 *      G = Σ (M2_b + L·d_b²) (left folds in ascending block order), mean = m_lo + D/|subset| and
 *      M2 = G − L·D²/|subset|. As d_lo = 0 the between-block part cannot cancel badly (Σ d_b² ≤
 *      (|subset| + 1)·Σ (d_b − D/|subset|)²), and identical blocks give D = 0 and M2 = 0 exactly — a shift
 *      common to all subsets, such as the combination's mean, would leave a rounding residue there and
 *      turn a flat stretch into a Sharpe of ±1e8.
 *   3. A split's set = A ∪ B: δ = μB − μA, mean = μA + δ·nB/n, M2 = M2A + M2B + δ²·nA·nB/n (an empty half
 *      has weight 0, which leaves the other exact): a handful of flops per split.
 * Complement symmetry: the OOS set of split r is the IS set of split C(S, k) − 1 − r (complementing
 * k-subsets of 2k blocks reverses lexicographic order), so both passes walk the same set list.
 * The loops run combination-outer, split-inner: a combination's subset tables (4 KB for S = 16) stay in L1
 * while per-split arrays stream, and no N × splits matrix exists. Two passes:
 *   IS:  running exact maximum per split. When a new maximum is tied with the previous one, the first
 *        combination tied with it may be an earlier one; the split is marked and resolved afterwards by a
 *        direct scan (rare: it needs distinct IS Sharpes within 1e-9 of each other at the top).
 *   OOS: per split, the number of OOS Sharpes below / tied with n*'s.
 * Both compare Sharpe ratios y = mean/√var against thresholds c through the increasing map y ↦ y·|y|:
 * y < c ⇔ mean·|mean| < c·|c|·var, so the square root and division (the slowest instructions here) are
 * only spent on the rare candidates near a threshold, which are then decided on the exact Sharpe. The hot
 * loops touch few typed arrays (V8 reloads each array's length and data pointer on every access).
 */
import { checkMatrix, SHARPE_TIE_REL, sharpeTied, type ReturnsMatrix } from "./sharpe.ts";

const HIST_BINS = 20;
/** Pass 1 pre-filter margin: far above rounding (a few ulps), far below the 1e-9 tie tolerance. */
const FLOOR_MARGIN = 1e-12;

export interface PboSplits {
  /** S, the number of blocks. */
  s: number;
  /** k = S/2, blocks per set. */
  k: number;
  /** C(S, k). */
  count: number;
  /** count × k: the IS block indices of each split, ascending; rows in lexicographic order. */
  is: Uint8Array;
  /** count × k: the OOS block indices (the complement), ascending. */
  oos: Uint8Array;
}

export interface PboResult {
  n: number;
  t: number;
  s: number;
  /** L = ⌊T/S⌋, returns per block. */
  blockLength: number;
  /** C(S, S/2), the number of splits. */
  splits: number;
  pbo: number;
  /** Per split (pboSplits order): n*, its IS and OOS Sharpe, and λ. */
  nStar: Int32Array;
  isSharpe: Float64Array;
  oosSharpe: Float64Array;
  lambda: Float64Array;
  histogram: { edges: Float64Array; counts: Int32Array };
  /** Mean over splits of n*'s OOS Sharpe. */
  meanOosSharpe: number;
  /** Least-squares OOS Sharpe ≈ intercept + slope · IS Sharpe, over splits. */
  slope: number;
  intercept: number;
}

function checkS(fn: string, s: number): void {
  if (!Number.isInteger(s) || s < 4 || s > 24 || s % 2 !== 0) {
    throw new Error(`${fn}: S must be an even integer in 4..24 (got S = ${s})`);
  }
}

/** All C(S, S/2) IS/OOS splits in lexicographic order of the IS block lists. */
export function pboSplits(s: number): PboSplits {
  checkS("pboSplits", s);
  const k = s / 2;
  let count = 1;
  for (let i = 1; i <= k; i++) count = (count * (k + i)) / i; // exact: each prefix is C(k + i, i)
  const is = new Uint8Array(count * k);
  const oos = new Uint8Array(count * k);
  const cur = Uint8Array.from({ length: k }, (_, i) => i);
  for (let row = 0; row < count; row++) {
    for (let j = 0; j < k; j++) is[row * k + j] = cur[j];
    // Lexicographic successor: bump the rightmost index that can still move, then pack the rest after it.
    let p = k - 1;
    while (p >= 0 && cur[p] === s - k + p) p--;
    if (p < 0) break;
    cur[p]++;
    for (let j = p + 1; j < k; j++) cur[j] = cur[j - 1] + 1;
  }
  // Complement symmetry (header): the OOS list of split r is the IS list of split count − 1 − r.
  for (let row = 0, src = (count - 1) * k; row < count * k; row += k, src -= k) {
    for (let j = 0; j < k; j++) oos[row + j] = is[src + j];
  }
  return { s, k, count, is, oos };
}

export interface BlockSummary {
  /** Per block, in time order: the mean of its L returns (the exact value when they are identical). */
  mean: Float64Array;
  /** Per block: the centred sum of squares Σ (r − mean)² (exactly 0 when the returns are identical). */
  m2: Float64Array;
}

/**
 * Step 1 of the header for ONE combination: the block means and M2 of its last S·L returns, L = ⌊T/S⌋.
 * A sweep computes this next to each backtest, so only S pairs per combination (not T returns) have to
 * reach the PBO; pboFromBlocks takes them as they come out of here.
 */
export function blockSummary(returns: ArrayLike<number>, s: number): BlockSummary {
  checkS("blockSummary", s);
  const t = returns.length;
  const L = Math.floor(t / s);
  if (L < 2) throw new Error(`blockSummary: T = ${t} returns and S = ${s} blocks leave ⌊T/S⌋ = ${L} returns per block; need ≥ 2`);
  const off = t - s * L;
  const mean = new Float64Array(s);
  const m2 = new Float64Array(s);
  for (let b = 0; b < s; b++) {
    const start = off + b * L;
    const end = start + L;
    const first = returns[start];
    let sum = 0;
    let constant = true;
    for (let i = start; i < end; i++) {
      sum += returns[i];
      constant &&= returns[i] === first;
    }
    let mb = first;
    let ss = 0;
    if (!constant) {
      mb = sum / L;
      for (let i = start; i < end; i++) {
        const d = returns[i] - mb;
        ss += d * d;
      }
    }
    mean[b] = mb;
    m2[b] = ss;
  }
  return { mean, m2 };
}

export interface PboBlocks {
  /** N, the number of combinations, in grid order. */
  n: number;
  /** T, the number of returns per combination (the blocks cover its last S·L). */
  t: number;
  s: number;
  /** L = ⌊T/S⌋. */
  blockLength: number;
  /** n·s values, combination-major: blockSummary(combination c).mean at c·s .. c·s + s − 1. */
  mean: Float64Array;
  /** n·s values, laid out like mean. */
  m2: Float64Array;
}

// The union A ∪ B of step 3 (header); every evaluation path goes through these, so the fast loops and
// the single-set recomputation produce bit-identical Sharpe ratios.
function unionMean(muA: number, delta: number, wB: number): number {
  return muA + delta * wB;
}

function unionVariance(m2A: number, m2B: number, delta: number, wAB: number, invLenMinus1: number): number {
  return (m2A + m2B + delta * delta * wAB) * invLenMinus1;
}

function sharpeOf(mean: number, variance: number): number {
  return variance > 0 ? mean / Math.sqrt(variance) : 0;
}

/** s·|s| of sharpeOf(mean, variance), times v' = (variance > 0 ? variance : 1). */
function signedSquare(mean: number, variance: number): number {
  const m = variance > 0 ? mean : 0;
  return m * Math.abs(m);
}

/** The split sets of one S (rows of pboSplits().is) and their statistics for one combination at a time. */
class CscvSets {
  private readonly count: number;
  private readonly k: number;
  private readonly blockLength: number;
  private readonly invLenMinus1: number;
  /** Per row: table offsets 4·A and 4·B + 2 (A, B = the row's blocks in each half, as bit masks). */
  private readonly idx: Int32Array;
  /** Per row: nB/n and nA·nB/n (n = nA + nB = k·L returns). */
  private readonly w: Float64Array;
  /** Per subset mask: μA, M2A, μB, M2B of the loaded combination; mask 0 stays all-zero (empty half). */
  private readonly tab: Float64Array;
  private readonly fold: Float64Array;
  private readonly bits: Int32Array;

  constructor(
    sp: PboSplits,
    blockLength: number,
    private readonly mean: Float64Array,
    private readonly m2: Float64Array,
  ) {
    const { count, k } = sp;
    this.count = count;
    this.k = k;
    this.blockLength = blockLength;
    this.invLenMinus1 = 1 / (k * blockLength - 1);
    this.idx = new Int32Array(2 * count);
    this.w = new Float64Array(2 * count);
    const n = k * blockLength;
    for (let r = 0; r < count; r++) {
      let a = 0;
      let b = 0;
      for (let j = 0; j < k; j++) {
        const blk = sp.is[r * k + j];
        if (blk < k) a |= 1 << blk;
        else b |= 1 << (blk - k);
      }
      this.idx[2 * r] = 4 * a;
      this.idx[2 * r + 1] = 4 * b + 2;
      const nA = popcount(a) * blockLength;
      this.w[2 * r] = (n - nA) / n;
      this.w[2 * r + 1] = (nA * (n - nA)) / n;
    }
    const size = 1 << k;
    this.bits = Int32Array.from({ length: size }, (_, mask) => popcount(mask));
    this.tab = new Float64Array(4 * size);
    this.fold = new Float64Array(2 * size);
  }

  /** Fills tab with combination c's subset statistics (header, step 2). */
  private load(c: number): void {
    const { mean, m2, bits, fold, tab, blockLength: L, k } = this;
    const size = 1 << k;
    for (let half = 0; half < 2; half++) {
      const first = c * 2 * k + half * k;
      for (let mask = 1; mask < size; mask++) {
        const hb = 31 - Math.clz32(mask);
        const rest = mask ^ (1 << hb);
        const lo = first + 31 - Math.clz32(mask & -mask);
        const d = mean[first + hb] - mean[lo];
        const dSum = fold[2 * rest] + d;
        const g = fold[2 * rest + 1] + (m2[first + hb] + L * (d * d));
        fold[2 * mask] = dSum;
        fold[2 * mask + 1] = g;
        tab[4 * mask + 2 * half] = mean[lo] + dSum / bits[mask];
        tab[4 * mask + 2 * half + 1] = g - (L * (dSum * dSum)) / bits[mask];
      }
    }
  }

  /**
   * Pass 1 step for combination c. state holds per row [best, floor], floor = best·|best| − margin·best²
   * (−∞ before the first combination): a signed square below floor·v' is below best by a relative 5e-13,
   * far beyond rounding, so only the rows above the floor form the exact Sharpe.
   */
  improveBest(c: number, state: Float64Array, nStar: Int32Array, unresolved: Uint8Array): void {
    this.load(c);
    const { idx, w, tab, invLenMinus1 } = this;
    for (let r = 0; r < this.count; r++) {
      const a = idx[2 * r];
      const b = idx[2 * r + 1];
      const delta = tab[b] - tab[a];
      const mean = unionMean(tab[a], delta, w[2 * r]);
      const variance = unionVariance(tab[a + 1], tab[b + 1], delta, w[2 * r + 1], invLenMinus1);
      if (signedSquare(mean, variance) < state[2 * r + 1] * (variance > 0 ? variance : 1)) continue;
      const x = sharpeOf(mean, variance);
      const best = state[2 * r];
      if (!(x > best)) continue;
      if (c > 0 && sharpeTied(x, best)) {
        unresolved[r] = 1;
      } else {
        unresolved[r] = 0;
        nStar[r] = c;
      }
      state[2 * r] = x;
      state[2 * r + 1] = x * Math.abs(x) - FLOOR_MARGIN * x * x;
    }
  }

  /**
   * Pass 2 step for combination c. band holds per row [t, lo·|lo|, hi·|hi|] with lo/hi = t ∓ 2·tol·|t|:
   * everything tied with t lies inside (tied ⇒ |y − t| ≤ tol·|t|/(1 − tol)). Rows below the band are
   * counted branch-free (a coin flip the CPU could not predict); rows in it take the exact tie test.
   */
  countBelow(c: number, band: Float64Array, lower: Int32Array, tied: Int32Array): void {
    this.load(c);
    const { idx, w, tab, invLenMinus1 } = this;
    for (let r = 0; r < this.count; r++) {
      const a = idx[2 * r];
      const b = idx[2 * r + 1];
      const delta = tab[b] - tab[a];
      const mean = unionMean(tab[a], delta, w[2 * r]);
      const variance = unionVariance(tab[a + 1], tab[b + 1], delta, w[2 * r + 1], invLenMinus1);
      const sq = signedSquare(mean, variance);
      const scale = variance > 0 ? variance : 1;
      const lo = band[3 * r + 1] * scale;
      lower[r] += +(sq < lo);
      if ((+(sq >= lo) & +(sq <= band[3 * r + 2] * scale)) !== 0) {
        const y = sharpeOf(mean, variance);
        if (sharpeTied(y, band[3 * r])) tied[r]++;
        else if (y < band[3 * r]) lower[r]++;
      }
    }
  }

  /** Sharpe of row r's set for combination c, straight from the block statistics (same arithmetic). */
  sharpe(c: number, r: number): number {
    const [muA, m2A] = this.subset(c * 2 * this.k, this.idx[2 * r] >> 2);
    const [muB, m2B] = this.subset(c * 2 * this.k + this.k, this.idx[2 * r + 1] >> 2);
    const delta = muB - muA;
    const variance = unionVariance(m2A, m2B, delta, this.w[2 * r + 1], this.invLenMinus1);
    return sharpeOf(unionMean(muA, delta, this.w[2 * r]), variance);
  }

  /** Mean and M2 of the blocks first + j, j ∈ mask, exactly as load() folds them. */
  private subset(first: number, mask: number): [number, number] {
    if (mask === 0) return [0, 0];
    const { mean, m2, blockLength: L } = this;
    const lo = first + 31 - Math.clz32(mask & -mask);
    let dSum = 0;
    let g = 0;
    for (let j = 0; j < this.k; j++) {
      if (!(mask & (1 << j))) continue;
      const d = mean[first + j] - mean[lo];
      dSum += d;
      g += m2[first + j] + L * (d * d);
    }
    const cnt = this.bits[mask];
    return [mean[lo] + dSum / cnt, g - (L * (dSum * dSum)) / cnt];
  }
}

function popcount(x: number): number {
  let c = 0;
  for (let v = x; v !== 0; v &= v - 1) c++;
  return c;
}

export function pbo(m: ReturnsMatrix, s = 16): PboResult {
  const { n, t, data } = m;
  checkMatrix("pbo", m);
  checkS("pbo", s);
  if (n < 2) throw new Error(`pbo: N = ${n} combination(s); need N ≥ 2`);
  const L = Math.floor(t / s);
  if (L < 2) throw new Error(`pbo: T = ${t} returns and S = ${s} blocks leave ⌊T/S⌋ = ${L} returns per block; need ≥ 2`);
  const mean = new Float64Array(n * s);
  const m2 = new Float64Array(n * s);
  for (let c = 0; c < n; c++) {
    const b = blockSummary(data.subarray(c * t, (c + 1) * t), s);
    mean.set(b.mean, c * s);
    m2.set(b.m2, c * s);
  }
  return pboFromBlocks({ n, t, s, blockLength: L, mean, m2 });
}

/** PBO from every combination's block summary (steps 2 and 3 of the header and the two passes). */
export function pboFromBlocks(b: PboBlocks): PboResult {
  const { n, t, s, blockLength: L, mean, m2 } = b;
  checkS("pboFromBlocks", s);
  if (n < 2) throw new Error(`pboFromBlocks: N = ${n} combination(s); need N ≥ 2`);
  if (L < 2 || L !== Math.floor(t / s)) {
    throw new Error(`pboFromBlocks: blockLength = ${L} with T = ${t} and S = ${s}; need ⌊T/S⌋ ≥ 2 returns per block`);
  }
  if (mean.length !== n * s || m2.length !== n * s) {
    throw new Error(`pboFromBlocks: block arrays have ${mean.length} / ${m2.length} values, expected N·S = ${n}·${s}`);
  }
  for (let i = 0; i < n * s; i++) {
    if (!Number.isFinite(mean[i]) || !Number.isFinite(m2[i])) {
      throw new Error(`pbo: combination ${Math.floor(i / s)} has non-finite returns in block ${i % s}`);
    }
  }
  const sp = pboSplits(s);
  const count = sp.count;
  const sets = new CscvSets(sp, L, mean, m2);

  // Pass 1: exact maximum IS Sharpe per split and the first combination tied with it.
  const state = new Float64Array(2 * count).fill(-Infinity);
  const nStar = new Int32Array(count);
  const unresolved = new Uint8Array(count);
  for (let c = 0; c < n; c++) sets.improveBest(c, state, nStar, unresolved);
  for (let r = 0; r < count; r++) {
    if (!unresolved[r]) continue;
    let c = 0;
    while (!sharpeTied(sets.sharpe(c, r), state[2 * r])) c++;
    nStar[r] = c;
  }

  // Complement symmetry: the OOS set of split r is row count − 1 − r of the set list.
  const isSharpe = new Float64Array(count);
  const oosSharpe = new Float64Array(count);
  for (let r = 0; r < count; r++) {
    isSharpe[r] = sets.sharpe(nStar[r], r);
    oosSharpe[r] = sets.sharpe(nStar[r], count - 1 - r);
  }

  // Pass 2: per split, how many OOS Sharpes lie below / are tied with n*'s, indexed by set row.
  const band = new Float64Array(3 * count);
  for (let row = 0; row < count; row++) {
    const target = oosSharpe[count - 1 - row];
    const lo = target - 2 * SHARPE_TIE_REL * Math.abs(target);
    const hi = target + 2 * SHARPE_TIE_REL * Math.abs(target);
    band[3 * row] = target;
    band[3 * row + 1] = lo * Math.abs(lo);
    band[3 * row + 2] = hi * Math.abs(hi);
  }
  const lower = new Int32Array(count);
  const tied = new Int32Array(count);
  for (let c = 0; c < n; c++) sets.countBelow(c, band, lower, tied);

  const lambda = new Float64Array(count);
  let overfit = 0;
  for (let r = 0; r < count; r++) {
    const row = count - 1 - r;
    const omega = (lower[row] + (tied[row] + 1) / 2) / (n + 1);
    lambda[r] = Math.log(omega / (1 - omega));
    if (lambda[r] <= 0) overfit++;
  }

  return {
    n,
    t,
    s,
    blockLength: L,
    splits: count,
    pbo: overfit / count,
    nStar,
    isSharpe,
    oosSharpe,
    lambda,
    histogram: histogram(lambda),
    meanOosSharpe: meanOf(oosSharpe),
    ...regression(isSharpe, oosSharpe),
  };
}

function meanOf(x: Float64Array): number {
  let sum = 0;
  for (let i = 0; i < x.length; i++) sum += x[i];
  return sum / x.length;
}

function histogram(x: Float64Array): { edges: Float64Array; counts: Int32Array } {
  let lo = x[0];
  let hi = x[0];
  for (let i = 1; i < x.length; i++) {
    if (x[i] < lo) lo = x[i];
    if (x[i] > hi) hi = x[i];
  }
  const edges = new Float64Array(HIST_BINS + 1);
  const counts = new Int32Array(HIST_BINS);
  const step = (hi - lo) / HIST_BINS;
  for (let i = 0; i < HIST_BINS; i++) edges[i] = i * step + lo;
  edges[HIST_BINS] = hi;
  if (hi === lo) {
    counts[0] = x.length;
    return { edges, counts };
  }
  for (let i = 0; i < x.length; i++) {
    // The scaled estimate can be one bin off near an edge; the edges themselves decide.
    let bin = Math.min(Math.floor(((x[i] - lo) / (hi - lo)) * HIST_BINS), HIST_BINS - 1);
    while (bin > 0 && x[i] < edges[bin]) bin--;
    while (bin < HIST_BINS - 1 && x[i] >= edges[bin + 1]) bin++;
    counts[bin]++;
  }
  return { edges, counts };
}

function regression(x: Float64Array, y: Float64Array): { slope: number; intercept: number } {
  const mx = meanOf(x);
  const my = meanOf(y);
  let constant = true;
  for (let i = 1; i < x.length; i++) constant &&= x[i] === x[0];
  if (constant) return { slope: 0, intercept: my };
  let sxx = 0;
  let sxy = 0;
  for (let i = 0; i < x.length; i++) {
    const dx = x[i] - mx;
    sxx += dx * dx;
    sxy += dx * (y[i] - my);
  }
  const slope = sxy / sxx;
  return { slope, intercept: my - slope * mx };
}
