/**
 * Per-bar Sharpe ratio and the shared conventions of the research statistics (pure, deterministic).
 *
 *   sharpe(r)   = mean(r) / std(r, ddof = 1), NOT annualised; mean summed in time order, two-pass std.
 *                 0 when there are fewer than 2 values or when the std is 0.
 *   std = 0     ⇔ all values are identical. That case is detected explicitly: the two-pass formula would
 *                 otherwise leave a rounding residue (mean(0.1, 0.1, 0.1) ≠ 0.1 in binary) and turn a
 *                 constant series into a Sharpe of ~1e16 instead of 0.
 *   tie         : two Sharpe values a, b are equal when |a − b| ≤ 1e-9·max(|a|, |b|). Exactly equal
 *                 values (including two zeros) are always tied.
 *
 * Returns matrix: N combinations × T returns in ONE flat Float64Array, combination-major (row n = the T
 * returns of combination n, in time order). Both DSR and PBO read a combination's returns as one
 * contiguous run, which is what their per-combination passes want; returnsMatrix() packs per-combination
 * arrays into this layout.
 */

/** Relative tolerance under which two Sharpe values count as equal. */
export const SHARPE_TIE_REL = 1e-9;

export function sharpeTied(a: number, b: number): boolean {
  return Math.abs(a - b) <= SHARPE_TIE_REL * Math.max(Math.abs(a), Math.abs(b));
}

export interface ReturnsMatrix {
  /** N, the number of combinations (rows), in grid order. */
  readonly n: number;
  /** T, the number of returns per combination (columns). */
  readonly t: number;
  /** n·t values, row-major: data[i·t + j] = return j of combination i. */
  readonly data: Float64Array;
}

/** Refuses a matrix whose data length is not n·t (fn names the caller in the message). */
export function checkMatrix(fn: string, m: ReturnsMatrix): void {
  if (m.data.length !== m.n * m.t) {
    throw new Error(`${fn}: matrix data has ${m.data.length} values, expected N·T = ${m.n}·${m.t}`);
  }
}

/** Packs per-combination return series (all of the same length) into a ReturnsMatrix. */
export function returnsMatrix(rows: ReadonlyArray<ArrayLike<number>>): ReturnsMatrix {
  const n = rows.length;
  const t = n > 0 ? rows[0].length : 0;
  const data = new Float64Array(n * t);
  for (let i = 0; i < n; i++) {
    if (rows[i].length !== t) {
      throw new Error(`returnsMatrix: combination ${i} has ${rows[i].length} returns, combination 0 has ${t}`);
    }
    data.set(rows[i], i * t);
  }
  return { n, t, data };
}

/** Sharpe of x[from..to): mean / std (ddof = 1); 0 for fewer than 2 values or identical values. */
export function sharpe(x: ArrayLike<number>, from = 0, to = x.length): number {
  const len = to - from;
  if (len < 2) return 0;
  const first = x[from];
  let sum = 0;
  let constant = true;
  for (let i = from; i < to; i++) {
    const v = x[i];
    sum += v;
    constant &&= v === first;
  }
  if (constant) return 0;
  const mean = sum / len;
  let ss = 0;
  for (let i = from; i < to; i++) {
    const d = x[i] - mean;
    ss += d * d;
  }
  return mean / Math.sqrt(ss / (len - 1));
}

export interface Shape {
  /** Skewness m3 / m2^1.5. */
  g3: number;
  /** Kurtosis m4 / m2² (non-excess: 3 for a normal). */
  g4: number;
}

/**
 * Skewness and (non-excess) kurtosis of x[from..to) from the population central moments
 * m_k = mean((x − mean)^k). Identical values (m2 = 0) give the normal's g3 = 0, g4 = 3, so a PSR built
 * on them reduces to the plain z-score instead of NaN.
 */
export function shape(x: ArrayLike<number>, from = 0, to = x.length): Shape {
  const m = centralSums(x, from, to);
  return m ? shapeOf(m, to - from) : { g3: 0, g4: 3 };
}

/**
 * sharpe(x) and shape(x) of the same values in one pass for the sums and one for the moments (a sweep takes
 * both of every combination's returns): bit-identical to calling the two, which sum in the same order —
 * sharpe's centred sum of squares is shape's s2 — so only the repeated passes are saved.
 */
export function sharpeAndShape(x: ArrayLike<number>): Shape & { sr: number } {
  const len = x.length;
  if (len < 2) return { sr: sharpe(x), ...shape(x) };
  const m = centralSums(x, 0, len);
  if (!m) return { sr: 0, g3: 0, g4: 3 };
  return { sr: m.mean / Math.sqrt(m.s2 / (len - 1)), ...shapeOf(m, len) };
}

interface CentralSums {
  mean: number;
  s2: number;
  s3: number;
  s4: number;
}

/** The mean and the centred sums of powers 2–4 of x[from..to), summed in time order; undefined when all values are identical. */
function centralSums(x: ArrayLike<number>, from: number, to: number): CentralSums | undefined {
  const first = x[from];
  let sum = 0;
  let constant = true;
  for (let i = from; i < to; i++) {
    const v = x[i];
    sum += v;
    constant &&= v === first;
  }
  if (constant) return undefined;
  const mean = sum / (to - from);
  let s2 = 0;
  let s3 = 0;
  let s4 = 0;
  for (let i = from; i < to; i++) {
    const d = x[i] - mean;
    const d2 = d * d;
    s2 += d2;
    s3 += d2 * d;
    s4 += d2 * d2;
  }
  return { mean, s2, s3, s4 };
}

function shapeOf({ s2, s3, s4 }: CentralSums, len: number): Shape {
  const m2 = s2 / len;
  return { g3: s3 / len / Math.pow(m2, 1.5), g4: s4 / len / (m2 * m2) };
}
