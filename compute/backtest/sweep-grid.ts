// Sweep grids: parsed and validated on the producer side (bad ranges are refused before anything is
// enqueued) and expanded the same way by the workers. `parseRange("5..50", "--fast")` → [5, 50, 1],
// `"5..50:5"` → [5, 50, 5]; a single integer "9" → [9, 9, 1].
export type IntRange = [lo: number, hi: number, step: number];

const INT_RE = /^[+-]?\d+$/;

/** Parse "LO..HI" or "LO..HI:STEP" (integers, LO ≤ HI, STEP > 0, LO ≥ 1). Errors name the flag and value. */
export function parseRange(text: string, flag: string): IntRange {
  const raw = String(text);
  const bad = (why: string): never => {
    throw new Error(`${flag}: ${why} (got ${JSON.stringify(raw)}; expected LO..HI or LO..HI:STEP)`);
  };
  const s = raw.trim();
  if (s === "") bad("empty range");
  const colon = s.split(":");
  if (colon.length > 2) bad("more than one ':'");
  const bounds = colon[0].split("..");
  if (bounds.length > 2) bad("more than one '..'");
  const tokens = bounds.length === 1 ? [bounds[0], bounds[0]] : bounds;
  const stepTok = colon.length === 2 ? colon[1] : "1";
  for (const tok of [...tokens, stepTok]) {
    if (!INT_RE.test(tok.trim())) bad(`non-integer value ${JSON.stringify(tok)}`);
  }
  const lo = Number(tokens[0]);
  const hi = Number(tokens[1]);
  const step = Number(stepTok);
  if (!Number.isSafeInteger(lo) || !Number.isSafeInteger(hi) || !Number.isSafeInteger(step)) {
    bad("value out of safe integer range");
  }
  if (step <= 0) bad(`step must be > 0 (got ${step})`);
  if (lo > hi) bad(`lo > hi (${lo} > ${hi})`);
  if (lo < 1) bad(`periods must be >= 1 (got ${lo})`);
  return [lo, hi, step];
}

export function rangeValues([lo, hi, step]: IntRange): number[] {
  const out: number[] = [];
  for (let v = lo; v <= hi; v += step) out.push(v);
  return out;
}

function checkRange(r: IntRange, flag: string): void {
  const [lo, hi, step] = r;
  if (![lo, hi, step].every(Number.isSafeInteger) || step <= 0 || lo > hi || lo < 1) {
    throw new Error(`${flag}: invalid range (got ${JSON.stringify(r)})`);
  }
}

/**
 * How many (fast, slow) pairs with fast < slow the grid has, counted without building it (a grid of
 * 100,000 × 100,000 periods would not fit in memory); throws naming both flags when there are none.
 */
export function emaGridSize(fastRange: IntRange, slowRange: IntRange, flags: [fast: string, slow: string] = ["--fast", "--slow"]): number {
  checkRange(fastRange, flags[0]);
  checkRange(slowRange, flags[1]);
  const [fl, fh, fs] = fastRange.map(BigInt) as [bigint, bigint, bigint];
  const [sl, sh, ss] = slowRange.map(BigInt) as [bigint, bigint, bigint];
  const nFast = (fh - fl) / fs + 1n;
  const nSlow = (sh - sl) / ss + 1n;
  const sMax = sl + (nSlow - 1n) * ss;
  // Fast values below every slow pair with all of them; from sl up to the largest slow value, fast value
  // f pairs with the slow values above it: nSlow − 1 − floor((f − sl) / ss).
  const firstAt = (v: bigint) => clamp(ceilDiv(v - fl, fs), 0n, nFast);
  const i0 = firstAt(sl);
  const i1 = firstAt(sMax);
  const n = i1 - i0;
  const count = i0 * nSlow + n * (nSlow - 1n) - floorSum(n, ss, fs, fl + i0 * fs - sl);
  if (count === 0n) {
    throw new Error(
      `${flags[0]}/${flags[1]}: empty grid, no fast < slow pair ` +
        `(got ${flags[0]} ${fastRange.join(",")} and ${flags[1]} ${slowRange.join(",")})`,
    );
  }
  return Number(count);
}

/** All (fast, slow) pairs with fast < slow; throws naming both flags when the grid is empty. */
export function emaGridPairs(
  fastRange: IntRange,
  slowRange: IntRange,
  flags: [fast: string, slow: string] = ["--fast", "--slow"],
): Array<[number, number]> {
  emaGridSize(fastRange, slowRange, flags);
  const pairs: Array<[number, number]> = [];
  const slows = rangeValues(slowRange);
  for (const f of rangeValues(fastRange)) {
    for (const s of slows) if (f < s) pairs.push([f, s]);
  }
  return pairs;
}

const clamp = (v: bigint, lo: bigint, hi: bigint) => (v < lo ? lo : v > hi ? hi : v);
const ceilDiv = (a: bigint, b: bigint) => (a <= 0n ? -(-a / b) : (a + b - 1n) / b);

/** Σ_{i<n} floor((a·i + b) / m) for n, a, b ≥ 0 and m > 0, in O(log) steps (the AtCoder Library's floor_sum). */
function floorSum(n: bigint, m: bigint, a: bigint, b: bigint): bigint {
  let sum = 0n;
  for (;;) {
    if (a >= m) {
      sum += ((n * (n - 1n)) / 2n) * (a / m);
      a %= m;
    }
    if (b >= m) {
      sum += n * (b / m);
      b %= m;
    }
    const yMax = a * n + b;
    if (yMax < m) return sum;
    [n, b, m, a] = [yMax / m, yMax % m, a, m];
  }
}
