/**
 * Deflated and probabilistic Sharpe ratios (Bailey & López de Prado 2014), pure and deterministic.
 *
 * Input: a ReturnsMatrix (./sharpe.ts), N combinations in grid order × T per-bar returns each.
 *   SR_n   = sharpe(returns of n): mean / std (ddof = 1), not annualised, 0 for a constant series
 *   V      = sample variance (ddof = 1, two-pass) of SR_1..SR_N; exactly 0 when all SR_n are identical
 *   SR0    = √V · ((1 − γ)·Φ⁻¹(1 − 1/N) + γ·Φ⁻¹(1 − 1/(N·e))), γ = Euler–Mascheroni, e = Math.E
 *   best   = the first combination in grid order whose SR is tied (./sharpe.ts) with the exact maximum
 *   SR*    = SR_best; g3 = m3/m2^1.5, g4 = m4/m2² (population central moments, non-excess) of its returns
 *   DSR    = Φ((SR* − SR0)·√(T − 1) / √(1 − g3·SR* + (g4 − 1)/4·SR*²))
 *   PSR    = the same with SR0 = 0 and a combination's own SR, g3, g4
 * A constant return series (m2 = 0) has SR = 0 and takes the normal's shape, g3 = 0 and g4 = 3, so its
 * PSR/DSR is Φ(−SR0·√(T − 1)). By Pearson's inequality g4 ≥ g3² + 1 the radicand is ≥ (1 − g3·SR/2)² ≥ 0;
 * if it is exactly 0 the ratio follows IEEE-754 division (±Infinity → Φ = 1 or 0, 0/0 → NaN).
 * N = 1 (V undefined) and T < 2 (no std) are refused, and so is a combination whose Sharpe is not finite
 * (a NaN or infinite return).
 *
 * Every function has a *FromStats twin that starts from per-combination SR_n, g3 and g4 (sharpeStats of a
 * matrix, or computed one combination at a time where each is backtested); the matrix versions are
 * sharpeStats followed by the twin, so both give the same bits.
 *
 * Top-K ordering (psrTop): SR descending; tie groups are formed greedily from the top, each anchored at
 * its largest SR (a value joins the group when it is tied with the anchor), and a group is listed in grid
 * order. The first entry is therefore always the DSR's best combination.
 */
import { normCdf, normInv } from "./normal.ts";
import { checkMatrix, shape, sharpe, sharpeTied, type ReturnsMatrix } from "./sharpe.ts";

const EULER_GAMMA = 0.5772156649015329;

export interface DsrResult {
  /** N, the number of combinations. */
  n: number;
  /** T, the number of returns per combination. */
  t: number;
  /** V, the sample variance of the N Sharpe ratios. */
  v: number;
  /** SR0, the expected maximum Sharpe ratio of N unskilled trials. */
  sr0: number;
  srStar: number;
  g3: number;
  g4: number;
  dsr: number;
  /** Grid index of the best combination. */
  bestIndex: number;
}

export interface PsrEntry {
  index: number;
  sr: number;
  g3: number;
  g4: number;
  psr: number;
}

/** Per-combination statistics: everything DSR and PSR need, without the returns themselves. */
export interface SharpeStats {
  /** T, the number of returns behind every combination's statistics. */
  t: number;
  /** Per combination in grid order: SR_n (./sharpe.ts sharpe), g3 and g4 (./sharpe.ts shape). */
  sr: Float64Array;
  g3: Float64Array;
  g4: Float64Array;
}

/** Φ((sr − sr0)·√(T − 1) / √(1 − g3·sr + (g4 − 1)/4·sr²)). */
function psrOf(sr: number, sr0: number, t: number, g3: number, g4: number): number {
  return normCdf(((sr - sr0) * Math.sqrt(t - 1)) / Math.sqrt(1 - g3 * sr + ((g4 - 1) / 4) * sr * sr));
}

function checkT(fn: string, t: number): void {
  if (t < 2) throw new Error(`${fn}: T = ${t} returns per combination; need T ≥ 2`);
}

/** The statistics of every combination of a matrix; refuses a non-finite Sharpe (a NaN or infinite return). */
export function sharpeStats(m: ReturnsMatrix): SharpeStats {
  checkMatrix("sharpeStats", m);
  const { n, t, data } = m;
  const sr = new Float64Array(n);
  const g3 = new Float64Array(n);
  const g4 = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    sr[i] = sharpe(data, i * t, (i + 1) * t);
    const sh = shape(data, i * t, (i + 1) * t);
    g3[i] = sh.g3;
    g4[i] = sh.g4;
  }
  return { t, sr, g3, g4 };
}

function checkStats(fn: string, st: SharpeStats): void {
  const { sr, g3, g4 } = st;
  if (g3.length !== sr.length || g4.length !== sr.length) {
    throw new Error(`${fn}: sr, g3 and g4 have ${sr.length}, ${g3.length} and ${g4.length} values; need one each per combination`);
  }
  for (let i = 0; i < sr.length; i++) {
    if (!Number.isFinite(sr[i])) throw new Error(`${fn}: combination ${i} has a non-finite Sharpe (NaN or infinite returns)`);
  }
}

/** Index of the first value tied with the exact maximum. */
function bestOf(sr: Float64Array): number {
  let max = sr[0];
  for (let i = 1; i < sr.length; i++) if (sr[i] > max) max = sr[i];
  let i = 0;
  while (!sharpeTied(sr[i], max)) i++;
  return i;
}

/** PSR(0) of one combination from its statistics (T ≥ 2). */
export function psrFromStats(sr: number, g3: number, g4: number, t: number): number {
  checkT("psrFromStats", t);
  return psrOf(sr, 0, t, g3, g4);
}

/** Probabilistic Sharpe ratio PSR(0) of one return series (T ≥ 2). */
export function psr(returns: ArrayLike<number>): number {
  checkT("psr", returns.length);
  const { g3, g4 } = shape(returns);
  return psrFromStats(sharpe(returns), g3, g4, returns.length);
}

export function deflatedSharpe(m: ReturnsMatrix): DsrResult {
  if (m.n < 2) throw new Error(`deflatedSharpe: N = ${m.n} combination(s); need N ≥ 2 (the variance V of the Sharpe ratios is undefined)`);
  checkT("deflatedSharpe", m.t);
  const st = sharpeStats(m);
  checkStats("deflatedSharpe", st);
  return deflatedSharpeFromStats(st);
}

/** DSR from every combination's statistics (the header's definitions after SR_n, g3 and g4). */
export function deflatedSharpeFromStats(st: SharpeStats): DsrResult {
  const { t, sr } = st;
  const n = sr.length;
  if (n < 2) throw new Error(`deflatedSharpeFromStats: N = ${n} combination(s); need N ≥ 2 (the variance V of the Sharpe ratios is undefined)`);
  checkT("deflatedSharpeFromStats", t);
  checkStats("deflatedSharpeFromStats", st);

  let sum = 0;
  let constant = true;
  for (let i = 0; i < n; i++) {
    sum += sr[i];
    constant &&= sr[i] === sr[0];
  }
  let v = 0;
  if (!constant) {
    const mean = sum / n;
    let ss = 0;
    for (let i = 0; i < n; i++) {
      const d = sr[i] - mean;
      ss += d * d;
    }
    v = ss / (n - 1);
  }
  const sr0 = Math.sqrt(v) * ((1 - EULER_GAMMA) * normInv(1 - 1 / n) + EULER_GAMMA * normInv(1 - 1 / (n * Math.E)));

  const bestIndex = bestOf(sr);
  const srStar = sr[bestIndex];
  const g3 = st.g3[bestIndex];
  const g4 = st.g4[bestIndex];
  return { n, t, v, sr0, srStar, g3, g4, dsr: psrOf(srStar, sr0, t, g3, g4), bestIndex };
}

/** PSR(0) of the top-k combinations by SR (k capped at N), in the order described in the header. */
export function psrTop(m: ReturnsMatrix, k = 10): PsrEntry[] {
  if (!Number.isInteger(k) || k < 1) throw new Error(`psrTop: k must be a positive integer (got ${k})`);
  if (m.n < 1) throw new Error("psrTop: N = 0 combinations");
  checkT("psrTop", m.t);
  const st = sharpeStats(m);
  checkStats("psrTop", st);
  return psrTopFromStats(st, k);
}

/** psrTop from every combination's statistics. */
export function psrTopFromStats(st: SharpeStats, k = 10): PsrEntry[] {
  const { t, sr, g3, g4 } = st;
  const n = sr.length;
  if (!Number.isInteger(k) || k < 1) throw new Error(`psrTopFromStats: k must be a positive integer (got ${k})`);
  if (n < 1) throw new Error("psrTopFromStats: N = 0 combinations");
  checkT("psrTopFromStats", t);
  checkStats("psrTopFromStats", st);
  // Stable sort: exactly equal values keep grid order; near-ties are regrouped below.
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => sr[b] - sr[a]);
  const top: PsrEntry[] = [];
  for (let g = 0; g < n && top.length < k; ) {
    const anchor = sr[order[g]];
    let end = g + 1;
    while (end < n && sharpeTied(sr[order[end]], anchor)) end++;
    const group = order.slice(g, end).sort((a, b) => a - b);
    for (const index of group) {
      if (top.length === k) break;
      top.push({ index, sr: sr[index], g3: g3[index], g4: g4[index], psr: psrOf(sr[index], 0, t, g3[index], g4[index]) });
    }
    g = end;
  }
  return top;
}
