// Research statistics: Φ / Φ⁻¹, Sharpe conventions, deflated / probabilistic Sharpe ratio and PBO (CSCV).
// Expected values are either literals produced outside this code base (Python: mpmath 1.3 at 40 digits,
// numpy 2.4 / scipy 1.17 running a plain transcription of the definitions — concatenate, np.std(ddof=1),
// norm.cdf/ppf, np.histogram, np.polyfit) or computed here by a brute-force implementation that shares
// nothing with the code under test.
import { describe, expect, it } from "vitest";
import { deflatedSharpe, psr, psrTop } from "../../compute/research/dsr.ts";
import { normCdf, normInv } from "../../compute/research/normal.ts";
import { pbo, pboSplits } from "../../compute/research/pbo.ts";
import { returnsMatrix, shape, sharpe, sharpeTied, type ReturnsMatrix } from "../../compute/research/sharpe.ts";
import { mulberry32 as rng } from "../helpers/random.ts";

function expectRel(actual: number, expected: number, rel = 1e-12, label = ""): void {
  const tol = rel * Math.abs(expected);
  expect(Math.abs(actual - expected) <= tol, `${label}: ${actual} vs ${expected}`).toBe(true);
}

/** Park–Miller minimal standard stream mapped to k/100000, k ∈ −1000..1000 (bit-identical in Python). */
function parkMiller(seed: number, count: number): number[] {
  let x = seed;
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    x = (x * 16807) % 2147483647;
    out.push(((x % 2001) - 1000) / 100000);
  }
  return out;
}

/** Rows i·T..(i+1)·T of `values`, each shifted by i·drift (the Python generator does the same). */
function driftRows(values: number[], n: number, t: number, drift: number): number[][] {
  return Array.from({ length: n }, (_, i) => values.slice(i * t, (i + 1) * t).map((v) => v + i * drift));
}

describe("normal distribution", () => {
  it("Φ⁻¹ matches known quantiles to 1e-12", () => {
    expectRel(normInv(0.975), 1.959963984540054, 1e-12, "0.975");
    expectRel(normInv(1e-10), -6.361340902404056, 1e-12, "1e-10");
    // mpmath, 40 digits.
    const table: [number, number][] = [
      [1e-300, -37.0470962993612],
      [1e-100, -21.273453560965326],
      [1e-20, -9.262340089798407],
      [0.001, -3.0902323061678136],
      [0.02425, -1.972961051311885],
      [0.3, -0.5244005127080408],
      [0.75, 0.6744897501960817],
      [0.999, 3.090232306167813],
      [1 - 2 ** -40, 7.047700256664409],
    ];
    for (const [p, z] of table) expectRel(normInv(p), z, 1e-12, `p = ${p}`);
    expect(normInv(0.5)).toBe(0);
  });

  it("Φ matches known values to 1e-12, tails included", () => {
    expectRel(normCdf(1.96), 0.9750021048517795, 1e-12, "1.96");
    expectRel(normCdf(-8), 6.22096057427178e-16, 1e-12, "-8");
    // mpmath, 40 digits.
    const table: [number, number][] = [
      [-37.5, 4.605353009581955e-308],
      [-20, 2.7536241186062337e-89],
      [-5.5, 1.8989562465887718e-8],
      [-1.96, 0.024997895148220435],
      [-0.5, 0.3085375387259869],
      [0.3, 0.6179114221889527],
      [1, 0.8413447460685429],
      [3, 0.9986501019683699],
      [6, 0.9999999990134123],
    ];
    for (const [x, p] of table) expectRel(normCdf(x), p, 1e-12, `x = ${x}`);
    expect(normCdf(0)).toBe(0.5);
  });

  it("round-trips Φ(Φ⁻¹(p)) = p and is symmetric", () => {
    for (let e = -300; e <= -1; e += 0.7) expectRel(normCdf(normInv(10 ** e)), 10 ** e, 1e-12, `p = 1e${e}`);
    // 1 − 2^−e is exact, so the upper tail must mirror the lower one.
    for (let e = 2; e <= 52; e++) expectRel(normInv(1 - 2 ** -e), -normInv(2 ** -e), 1e-12, `1 − 2^-${e}`);
    for (let p = 0.01; p < 1; p += 0.0137) expectRel(normCdf(normInv(p)), p, 1e-14, `p = ${p}`);
    for (let x = -30; x <= 30; x += 0.37) expectRel(normCdf(x) + normCdf(-x), 1, 1e-15, `x = ${x}`);
  });

  it("handles the special values", () => {
    expect(normCdf(-Infinity)).toBe(0);
    expect(normCdf(Infinity)).toBe(1);
    expect(normCdf(-40)).toBe(0);
    expect(normCdf(Number.NaN)).toBeNaN();
    expect(normInv(0)).toBe(-Infinity);
    expect(normInv(1)).toBe(Infinity);
    for (const p of [-0.1, 1.1, Number.NaN]) expect(normInv(p)).toBeNaN();
  });
});

describe("sharpe conventions", () => {
  it("is mean / std(ddof = 1), 0 for zero std or fewer than 2 values", () => {
    expectRel(sharpe([1, 2, 3, 4]), 2.5 / Math.sqrt(5 / 3));
    expectRel(sharpe([9, 1, 2, 3, 4, 9], 1, 5), 2.5 / Math.sqrt(5 / 3));
    expect(sharpe([0, 0, 0, 0])).toBe(0);
    // 0.1 is not a binary fraction: a plain two-pass std would leave a rounding residue here.
    expect(sharpe([0.1, 0.1, 0.1])).toBe(0);
    expect(sharpe([0.5])).toBe(0);
    expect(sharpe([])).toBe(0);
  });

  it("gives skewness and non-excess kurtosis, normal shape for a constant series", () => {
    const s = shape([1, 2, 3, 4]);
    expect(Math.abs(s.g3)).toBeLessThan(1e-15);
    expectRel(s.g4, 2.5625 / 1.5625); // m4 / m2² with deviations ±0.5, ±1.5
    expect(shape([0.1, 0.1, 0.1])).toEqual({ g3: 0, g4: 3 });
  });

  it("ties values within 1e-9 relative", () => {
    expect(sharpeTied(1, 1 + 0.9e-9)).toBe(true);
    expect(sharpeTied(1, 1 + 1.1e-9)).toBe(false);
    expect(sharpeTied(-2, -2 - 1.9e-9)).toBe(true);
    expect(sharpeTied(0, 0)).toBe(true);
    expect(sharpeTied(0, 1e-300)).toBe(false);
  });

  it("packs rows into a matrix and refuses ragged input", () => {
    const m = returnsMatrix([
      [1, 2],
      [3, 4],
    ]);
    expect(m.n).toBe(2);
    expect(m.t).toBe(2);
    expect(Array.from(m.data)).toEqual([1, 2, 3, 4]);
    expect(() => returnsMatrix([[1, 2], [3]])).toThrow(/combination 1 has 1 returns/);
    const short: ReturnsMatrix = { n: 2, t: 40, data: new Float64Array(79) };
    expect(() => deflatedSharpe(short)).toThrow(/79 values, expected N·T = 2·40/);
    expect(() => pbo(short, 4)).toThrow(/79 values/);
  });
});

describe("deflated Sharpe ratio", () => {
  // N = 6, T = 40: Park–Miller seed 7, combination i drifted by i·4e-4. Reference: numpy/scipy.
  const rows = driftRows(parkMiller(7, 6 * 40), 6, 40, 4e-4);
  const m = returnsMatrix(rows);

  it("matches the reference on a small sweep", () => {
    const r = deflatedSharpe(m);
    expect(r.n).toBe(6);
    expect(r.t).toBe(40);
    expect(r.bestIndex).toBe(4);
    expectRel(r.v, 0.048209249830658406, 1e-12, "v");
    expectRel(r.sr0, 0.28546677580424834, 1e-12, "sr0");
    expectRel(r.srStar, 0.4917143076721996, 1e-12, "srStar");
    expectRel(r.g3, -0.22952763811966728, 1e-12, "g3");
    expectRel(r.g4, 2.7139317868631956, 1e-12, "g4");
    expectRel(r.dsr, 0.8785580862371312, 1e-12, "dsr");
  });

  it("matches the reference PSR(0) and orders the top-K by SR", () => {
    const expected = [0.20803868870869702, 0.6941160329374285, 0.3687008043349257, 0.8936973888724198, 0.9973167626922613, 0.7686640200818506];
    rows.forEach((r, i) => expectRel(psr(r), expected[i], 1e-12, `psr ${i}`));
    const top = psrTop(m, 3);
    expect(top.map((e) => e.index)).toEqual([4, 3, 5]);
    expectRel(top[0].sr, 0.4917143076721996);
    expectRel(top[1].psr, expected[3]);
    expect(psrTop(m).map((e) => e.index)).toEqual([4, 3, 5, 1, 2, 0]);
  });

  it("breaks ties in grid order", () => {
    const a = rows[4];
    // b's Sharpe is ~1e-12 relative ABOVE a's: tied, so the earlier a stays the best.
    const b = a.map((v) => v + 1e-16);
    expect(sharpe(b)).toBeGreaterThan(sharpe(a));
    expect(deflatedSharpe(returnsMatrix([rows[0], a, b])).bestIndex).toBe(1);
    expect(deflatedSharpe(returnsMatrix([rows[0], b, a])).bestIndex).toBe(1);
    expect(deflatedSharpe(returnsMatrix([a, rows[1], a])).bestIndex).toBe(0);
    expect(psrTop(returnsMatrix([rows[0], b, rows[1], a])).map((e) => e.index)).toEqual([1, 3, 2, 0]);
  });

  it("picks the first combination tied with the maximum, not a running argmax", () => {
    // SR rises by ~0.6e-9 relative per step: 0 ~ 1 ~ 2 are tied pairwise, but 0 and 2 are not. The
    // maximum is combination 2 and the first combination tied with it is 1 (a running argmax would keep
    // 0 against 1 and then switch to 2).
    const chain = [0, 1, 2].map((i) => rows[4].map((v) => v + i * 1.5e-12));
    const sr = chain.map((r) => sharpe(r));
    expect(sharpeTied(sr[0], sr[1]) && sharpeTied(sr[1], sr[2]) && !sharpeTied(sr[0], sr[2])).toBe(true);
    expect(deflatedSharpe(returnsMatrix(chain)).bestIndex).toBe(1);
    expect(psrTop(returnsMatrix(chain)).map((e) => e.index)).toEqual([1, 2, 0]);
  });

  it("gives V = 0 and SR0 = 0 for identical Sharpe ratios, and a normal shape for a constant best", () => {
    const r = deflatedSharpe(returnsMatrix([rows[2], rows[2], rows[2]]));
    expect(r.v).toBe(0);
    expect(r.sr0).toBe(0);
    const flat = deflatedSharpe(returnsMatrix([new Array<number>(40).fill(0), new Array<number>(40).fill(0.001)]));
    expect(flat).toMatchObject({ bestIndex: 0, srStar: 0, g3: 0, g4: 3, v: 0, sr0: 0, dsr: 0.5 });
  });

  it("refuses N = 1, T < 2 and non-finite returns", () => {
    expect(() => deflatedSharpe(returnsMatrix([rows[0]]))).toThrow(/N = 1/);
    expect(() => deflatedSharpe(returnsMatrix([[0.1], [0.2]]))).toThrow(/T = 1/);
    expect(() => psr([0.1])).toThrow(/T = 1/);
    expect(() => deflatedSharpe(returnsMatrix([rows[0], [...rows[1].slice(1), Number.NaN]]))).toThrow(/combination 1/);
    expect(() => psrTop(m, 0)).toThrow(/k must be a positive integer/);
  });
});

/** Sharpe of a plain array: two passes, 0 for identical values. */
function directSharpe(x: ArrayLike<number>): number {
  let constant = true;
  let sum = 0;
  for (let i = 0; i < x.length; i++) {
    constant &&= x[i] === x[0];
    sum += x[i];
  }
  if (constant) return 0;
  const mean = sum / x.length;
  let ss = 0;
  for (let i = 0; i < x.length; i++) ss += (x[i] - mean) ** 2;
  return mean / Math.sqrt(ss / (x.length - 1));
}

function combinations(s: number, k: number): number[][] {
  const out: number[][] = [];
  const walk = (start: number, acc: number[]): void => {
    if (acc.length === k) {
      out.push(acc);
      return;
    }
    for (let b = start; b < s; b++) walk(b + 1, [...acc, b]);
  };
  walk(0, []);
  return out;
}

/** CSCV straight from the definitions: concatenated blocks, direct Sharpe, O(N) scans per split. */
function bruteForcePbo(rows: number[][], s: number) {
  const n = rows.length;
  const t = rows[0].length;
  const L = Math.floor(t / s);
  const used = rows.map((r) => r.slice(t - s * L));
  const set = new Float64Array((s / 2) * L);
  const setOf = (row: number[], blocks: number[]) => {
    blocks.forEach((b, j) => set.set(row.slice(b * L, (b + 1) * L), j * L));
    return set;
  };
  const nStar: number[] = [];
  const isSharpe: number[] = [];
  const oosSharpe: number[] = [];
  const lambda: number[] = [];
  for (const isBlocks of combinations(s, s / 2)) {
    const oosBlocks = [...Array(s).keys()].filter((b) => !isBlocks.includes(b));
    const is = used.map((r) => directSharpe(setOf(r, isBlocks)));
    const oos = used.map((r) => directSharpe(setOf(r, oosBlocks)));
    const max = Math.max(...is);
    const star = is.findIndex((v) => sharpeTied(v, max));
    const target = oos[star];
    const ties = oos.filter((v) => sharpeTied(v, target)).length;
    const lower = oos.filter((v) => !sharpeTied(v, target) && v < target).length;
    const omega = (lower + (ties + 1) / 2) / (n + 1);
    nStar.push(star);
    isSharpe.push(is[star]);
    oosSharpe.push(target);
    lambda.push(Math.log(omega / (1 - omega)));
  }
  return { nStar, isSharpe, oosSharpe, lambda };
}

describe("probability of backtest overfitting", () => {
  it("enumerates the splits in lexicographic order with complementary OOS sets", () => {
    const sp = pboSplits(4);
    expect(sp.count).toBe(6);
    expect(Array.from(sp.is)).toEqual([0, 1, 0, 2, 0, 3, 1, 2, 1, 3, 2, 3]);
    expect(Array.from(sp.oos)).toEqual([2, 3, 1, 3, 1, 2, 0, 3, 0, 2, 0, 1]);
    const sp16 = pboSplits(16);
    expect(sp16.count).toBe(12870);
    expect(Array.from(sp16.is.subarray(0, 8))).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(Array.from(sp16.is.subarray(8 * 12869))).toEqual([8, 9, 10, 11, 12, 13, 14, 15]);
    expect(pboSplits(20).count).toBe(184756);
  });

  // N = 6, T = 83, S = 6 (L = 13, the first 5 returns unused): Park–Miller seed 11, combination i drifted
  // by i·3e-4, then combination 0 set to all zeros and combination 5 to a copy of combination 4.
  // Reference: numpy transcription of the definitions, np.histogram(bins=20), np.polyfit(deg=1).
  it("matches the reference on a small sweep with a flat and a duplicate combination", () => {
    const rows = driftRows(parkMiller(11, 6 * 83), 6, 83, 3e-4);
    rows[0] = rows[0].map(() => 0);
    rows[5] = rows[4].slice();
    const r = pbo(returnsMatrix(rows), 6);
    expect(r).toMatchObject({ n: 6, t: 83, s: 6, blockLength: 13, splits: 20, pbo: 0.8 });
    expect(Array.from(r.nStar)).toEqual([2, 3, 2, 4, 3, 2, 4, 2, 4, 3, 4, 2, 4, 2, 4, 4, 2, 4, 4, 4]);
    const lambda = [
      -0.2876820724517809, -0.2876820724517809, -0.2876820724517809, 0, -1.791759469228055, -1.791759469228055, 0.5877866649021192,
      -0.2876820724517809, 0.5877866649021192, -0.2876820724517809, 0.5877866649021192, -1.791759469228055, 0, -0.2876820724517809, 0,
      0, -1.791759469228055, -0.587786664902119, 0, 0.5877866649021192,
    ];
    lambda.forEach((v, i) => expectRel(r.lambda[i], v, 1e-12, `λ ${i}`));
    const isSharpe = [
      0.2887694368091822, 0.11572758374518559, 0.36210012996440205, 0.17276690715287027, 0.351289196704283, 0.6332458072394416,
      0.3789724448305648, 0.3849245790540373, 0.18676913437365295, 0.1574937554656313, 0.292653399916656, 0.5315187739813833,
      0.40646666948757376, 0.309064932603347, 0.20700564120259107, 0.16972318066620792, 0.5761104850204554, 0.4176797162209595,
      0.3748027089433281, 0.18373415546194244,
    ];
    const oosSharpe = [
      0.0901532769852655, 0.22209643671117926, 0.03118959864107933, 0.2665971344104955, -0.012426049390660976, -0.1371758633718163,
      0.07122935677618183, 0.03356167382562134, 0.2538463723850568, 0.17576164999397337, 0.15065720307031308, -0.08326430809801451,
      0.05477188354778987, 0.08820752944638001, 0.23262829916460756, 0.27001597720424153, -0.07438604955597694, 0.03856651179957596,
      0.073798307091071, 0.2572815299133104,
    ];
    isSharpe.forEach((v, i) => expectRel(r.isSharpe[i], v, 1e-12, `IS ${i}`));
    oosSharpe.forEach((v, i) => expectRel(r.oosSharpe[i], v, 1e-12, `OOS ${i}`));
    expect(Array.from(r.histogram.counts)).toEqual([4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 6, 0, 0, 5, 0, 0, 0, 4]);
    const edges = [
      -1.791759469228055, -1.6727821625215462, -1.5538048558150375, -1.4348275491085287, -1.3158502424020202, -1.1968729356955115,
      -1.0778956289890027, -0.9589183222824941, -0.8399410155759853, -0.7209637088694767, -0.601986402162968, -0.4830090954564592,
      -0.36403178874995046, -0.2450544820434417, -0.1260771753369332, -0.007099868630424444, 0.1118774380760843, 0.23085474478259282,
      0.34983205148910157, 0.4688093581956103, 0.5877866649021192,
    ];
    edges.forEach((v, i) => expectRel(r.histogram.edges[i], v, 1e-12, `edge ${i}`));
    expectRel(r.slope, -0.8132234960232839, 1e-12, "slope");
    expectRel(r.intercept, 0.3644864465521733, 1e-12, "intercept");
    expectRel(r.meanOosSharpe, 0.10015552352748369, 1e-12, "mean OOS");
  });

  it("equals a brute-force CSCV on random sweeps (flat, sparse, constant and duplicate combinations)", () => {
    const cases = [
      { n: 7, t: 100, s: 4, seed: 1 },
      { n: 12, t: 203, s: 8, seed: 2 },
      { n: 9, t: 131, s: 10, seed: 3 },
      { n: 10, t: 96, s: 12, seed: 4 },
      { n: 5, t: 70, s: 16, seed: 5 },
    ];
    for (const { n, t, s, seed } of cases) {
      const rand = rng(seed);
      const rows = Array.from({ length: n }, (_, i) => Array.from({ length: t }, () => (rand() - 0.5) * 0.02 + (i - n / 2) * 2e-4));
      rows[1] = rows[1].map(() => 0); // never trades
      rows[2] = rows[2].map((v) => (rand() < 0.05 ? v : 0)); // trades rarely: mostly all-zero blocks
      rows[3] = rows[3].map((v, j) => (j < t / 2 ? 0.001 : v)); // constant first half
      rows[n - 1] = rows[0].slice(); // duplicate of combination 0
      const ctx = `n=${n} t=${t} s=${s}`;
      const got = pbo(returnsMatrix(rows), s);
      const want = bruteForcePbo(rows, s);
      expect(got.splits).toBe(want.lambda.length);
      expect(Array.from(got.nStar), ctx).toEqual(want.nStar);
      // A Sharpe ratio carries an absolute rounding error ~ε·mean|r|/std under ANY summation order, so a
      // ratio near 0 (IS 9e-5 occurs here) is only relatively accurate down to that floor.
      const sharpeTol = (v: number) => 1e-12 * Math.abs(v) + 1e-14;
      for (let i = 0; i < got.splits; i++) {
        expectRel(got.lambda[i], want.lambda[i], 1e-12, `${ctx} λ ${i}`);
        expect(Math.abs(got.isSharpe[i] - want.isSharpe[i]), `${ctx} IS ${i}`).toBeLessThanOrEqual(sharpeTol(want.isSharpe[i]));
        expect(Math.abs(got.oosSharpe[i] - want.oosSharpe[i]), `${ctx} OOS ${i}`).toBeLessThanOrEqual(sharpeTol(want.oosSharpe[i]));
      }
      expect(Math.abs(got.pbo - (1 - want.lambda.filter((v) => v > 0).length / got.splits))).toBeLessThan(1e-15);
      const { edges, counts } = got.histogram;
      const binOf = (v: number) => (v === edges[20] ? 19 : edges.findIndex((e, i) => i < 20 && e <= v && v < edges[i + 1]));
      const expected = new Array<number>(20).fill(0);
      for (const v of got.lambda) expected[binOf(v)]++;
      expect(Array.from(counts), ctx).toEqual(expected);
    }
  });

  it("takes n* as the first combination tied with the maximum IS Sharpe when near-ties chain", () => {
    // Combinations 1..3 differ by a shift of 1.2e-12 per return: their IS Sharpe ratios step by ~0.6e-9
    // relative, so depending on the split the first one tied with the maximum is 1, 2 or 3.
    const rand = rng(21);
    const noise = Array.from({ length: 160 }, () => (rand() - 0.5) * 0.02);
    const a = Array.from({ length: 160 }, () => (rand() - 0.5) * 0.02 + 0.002);
    const rows = [noise, ...[0, 1, 2].map((i) => a.map((v) => v + i * 1.2e-12))];
    const got = pbo(returnsMatrix(rows), 8);
    expect(Array.from(got.nStar)).toEqual(bruteForcePbo(rows, 8).nStar);
    expect(new Set(got.nStar)).toEqual(new Set([1, 2, 3]));
  });

  it("gives Sharpe exactly 0 to all-zero sets: PBO = 1 with λ = 0 when nothing trades", () => {
    const m: ReturnsMatrix = { n: 3, t: 64, data: new Float64Array(3 * 64) };
    const r = pbo(m, 8);
    expect(Array.from(r.isSharpe).every((v) => v === 0)).toBe(true);
    expect(Array.from(r.nStar).every((v) => v === 0)).toBe(true);
    expect(Array.from(r.lambda).every((v) => v === 0)).toBe(true);
    expect(r.pbo).toBe(1);
    expect(r.histogram.counts[0]).toBe(70);
    expect(Array.from(r.histogram.edges).every((e) => e === 0)).toBe(true);
    expect(r.slope).toBe(0);
    expect(r.intercept).toBe(0);
  });

  it("refuses N = 1, a bad S, too few returns per block and non-finite returns", () => {
    const rand = rng(9);
    const data = Float64Array.from({ length: 2 * 40 }, () => rand() - 0.5);
    const m: ReturnsMatrix = { n: 2, t: 40, data };
    expect(() => pbo({ n: 1, t: 40, data: data.subarray(0, 40) }, 4)).toThrow(/N = 1/);
    for (const s of [7, 2, 26, 4.5]) {
      expect(() => pbo(m, s)).toThrow(new RegExp(`S = ${s}\\b`));
      expect(() => pboSplits(s)).toThrow(new RegExp(`S = ${s}\\b`));
    }
    expect(() => pbo({ n: 2, t: 31, data: data.subarray(0, 62) }, 16)).toThrow(/T = 31.*S = 16/);
    expect(() => pbo({ n: 2, t: 40, data }, 24)).toThrow(/T = 40.*S = 24/); // S = 24 itself is allowed
    const bad = data.slice();
    bad[40 + 39] = Number.NaN;
    expect(() => pbo({ n: 2, t: 40, data: bad }, 4)).toThrow(/combination 1/);
  });
});
