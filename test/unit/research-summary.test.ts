// The per-combination summary paths of the research statistics (what a sweep stores per combination) give
// the same bits as the matrix paths: DSR/PSR from SR, g3, g4 and PBO from block means and M2; and a sweep's
// research (sweepResearch) has its DSR whenever N ≥ 2, T ≥ 2 and every SR is finite, its PBO skipped alone.
import { describe, expect, it } from "vitest";
import { deflatedSharpe, deflatedSharpeFromStats, psr, psrFromStats, psrTop, psrTopFromStats, sharpeStats } from "../../compute/research/dsr.ts";
import { blockSummary, pbo, pboFromBlocks } from "../../compute/research/pbo.ts";
import { returnsMatrix, shape, sharpe, type ReturnsMatrix } from "../../compute/research/sharpe.ts";
import { PBO_MAX_COMBINATIONS, pboTooLarge, sweepResearch, type SweepResearchInput } from "../../compute/research/sweep-research.ts";
import { mulberry32 as rng } from "../helpers/random.ts";

/** Random sweeps with the awkward combinations a real one has: never trades, rarely trades, duplicates. */
function sweepLike(n: number, t: number, seed: number): ReturnsMatrix {
  const rand = rng(seed);
  const rows = Array.from({ length: n }, (_, i) => Array.from({ length: t }, () => (rand() - 0.5) * 0.04 + (i - n / 2) * 1e-4));
  rows[1] = rows[1].map(() => 0);
  rows[2] = rows[2].map((v) => (rand() < 0.05 ? v : 0));
  rows[n - 1] = rows[0].slice();
  return returnsMatrix(rows);
}

/** The sweep's path: one combination at a time, as each backtest's returns come out of the engine. */
function perCombination(m: ReturnsMatrix, s: number) {
  const sr = new Float64Array(m.n);
  const g3 = new Float64Array(m.n);
  const g4 = new Float64Array(m.n);
  const mean = new Float64Array(m.n * s);
  const m2 = new Float64Array(m.n * s);
  for (let c = 0; c < m.n; c++) {
    const r = Array.from(m.data.subarray(c * m.t, (c + 1) * m.t));
    sr[c] = sharpe(r);
    ({ g3: g3[c], g4: g4[c] } = shape(r));
    const b = blockSummary(r, s);
    mean.set(b.mean, c * s);
    m2.set(b.m2, c * s);
  }
  return { stats: { t: m.t, sr, g3, g4 }, blocks: { n: m.n, t: m.t, s, blockLength: Math.floor(m.t / s), mean, m2 } };
}

describe("research statistics from per-combination summaries", () => {
  const cases = [
    { n: 9, t: 131, s: 4, seed: 31 },
    { n: 40, t: 365, s: 8, seed: 32 },
    { n: 25, t: 250, s: 16, seed: 33 },
  ];

  it("DSR, PSR and the top-K equal the matrix versions bit for bit", () => {
    for (const { n, t, s, seed } of cases) {
      const m = sweepLike(n, t, seed);
      const { stats } = perCombination(m, s);
      expect(deflatedSharpeFromStats(stats)).toEqual(deflatedSharpe(m));
      expect(psrTopFromStats(stats, n)).toEqual(psrTop(m, n));
      expect(sharpeStats(m)).toEqual(stats);
      for (let c = 0; c < n; c++) {
        expect(Object.is(psrFromStats(stats.sr[c], stats.g3[c], stats.g4[c], t), psr(m.data.subarray(c * t, (c + 1) * t)))).toBe(true);
      }
    }
  });

  it("PBO from block summaries equals the matrix version bit for bit", () => {
    for (const { n, t, s, seed } of cases) {
      const m = sweepLike(n, t, seed);
      const { blocks } = perCombination(m, s);
      expect(pboFromBlocks(blocks)).toEqual(pbo(m, s));
    }
  });

  it("summarises the last S·⌊T/S⌋ returns, a block of identical values exactly", () => {
    const r = [9, 9, 0.1, 0.1, 0.1, 0.2, 0.4, 0.3, 0.3, 0.3];
    const b = blockSummary(r, 4);
    expect(Array.from(b.mean)).toEqual([0.1, (0.1 + 0.2) / 2, (0.4 + 0.3) / 2, 0.3]);
    expect(b.m2[0]).toBe(0);
    expect(b.m2[3]).toBe(0);
    expect(b.m2[1]).toBeCloseTo(0.005, 15);
  });

  it("refuses what the matrix versions refuse, naming the value", () => {
    expect(() => blockSummary(new Array<number>(15).fill(0.01), 8)).toThrow(/T = 15.*S = 8/);
    expect(() => blockSummary(new Array<number>(40).fill(0.01), 7)).toThrow(/S = 7\b/);
    const { stats, blocks } = perCombination(sweepLike(6, 64, 7), 4);
    expect(() => deflatedSharpeFromStats({ ...stats, sr: stats.sr.subarray(0, 1), g3: stats.g3.subarray(0, 1), g4: stats.g4.subarray(0, 1) })).toThrow(/N = 1/);
    expect(() => deflatedSharpeFromStats({ ...stats, t: 1 })).toThrow(/T = 1/);
    expect(() => deflatedSharpeFromStats({ ...stats, g4: stats.g4.subarray(1) })).toThrow(/6, 6 and 5 values/);
    const nan = blocks.mean.slice();
    nan[4 * 3 + 2] = Number.NaN;
    expect(() => pboFromBlocks({ ...blocks, mean: nan })).toThrow(/combination 3 has non-finite returns in block 2/);
    expect(() => pboFromBlocks({ ...blocks, blockLength: 15 })).toThrow(/blockLength = 15 with T = 64 and S = 4/);
    expect(() => pboFromBlocks({ ...blocks, m2: blocks.m2.subarray(4) })).toThrow(/N·S = 6·4/);
  });
});

describe("a sweep's research: DSR for every sweep, the PBO skipped alone", () => {
  /** What the ranking job hands the compute thread for a matrix; blocks as the chunks stored them. */
  function input(m: ReturnsMatrix, s: number, withBlocks = true): SweepResearchInput {
    const { stats, blocks } = perCombination(m, s);
    return { ...stats, s, blockMean: withBlocks ? blocks.mean : null, blockM2: withBlocks ? blocks.m2 : null, psrOf: Int32Array.of(3, 0) };
  }
  const m = sweepLike(25, 250, 41);
  const dsr = deflatedSharpe(m);
  const psrOfTop = [3, 0].map((c) => psr(m.data.subarray(c * m.t, (c + 1) * m.t)));

  it("computes DSR, the PSR of the chosen rows and the PBO when nothing stands in the way", () => {
    expect(sweepResearch(input(m, 16))).toEqual({ skipped: null, dsr, psr: psrOfTop, pbo: pbo(m, 16), pboSkipped: null });
    expect(sweepResearch({ ...input(m, 16), pboMaxCombinations: 25 })).toMatchObject({ pbo: pbo(m, 16), pboSkipped: null }); // the limit is inclusive
  });

  it("N over the PBO's limit: DSR and PSR present, the PBO skipped with its reason, no block summaries needed", () => {
    const why = "N = 25 combinations: PBO is computed for sweeps of up to 24 (its cost grows with N × C(S, S/2) splits); the DSR is not limited";
    const want = { skipped: null, dsr, psr: psrOfTop, pbo: null, pboSkipped: why };
    expect(sweepResearch({ ...input(m, 16, false), pboMaxCombinations: 24 })).toEqual(want);
    expect(sweepResearch({ ...input(m, 16), pboMaxCombinations: 24 })).toEqual(want);
    expect(pboTooLarge(PBO_MAX_COMBINATIONS)).toBeNull();
    expect(pboTooLarge(PBO_MAX_COMBINATIONS + 1)).toMatch(/^N = 100001 combinations: PBO is computed for sweeps of up to 100000 /);
  });

  it("⌊T/S⌋ < 2: DSR and PSR present, the PBO skipped with its reason", () => {
    const short = sweepLike(6, 40, 42);
    const r = sweepResearch({ ...input(short, 4, false), s: 24, psrOf: Int32Array.of(1) });
    expect(r).toEqual({
      skipped: null,
      dsr: deflatedSharpe(short),
      psr: [psr(short.data.subarray(40, 80))],
      pbo: null,
      pboSkipped: "T = 40 returns and S = 24 blocks leave ⌊T/S⌋ = 1 returns per block; PBO needs ≥ 2 (fewer blocks or more bars)",
    });
  });

  it("block summaries missing under the limit (chunks run with another limit): the PBO skipped, not a failure", () => {
    expect(sweepResearch(input(m, 16, false))).toMatchObject({ skipped: null, dsr, pbo: null, pboSkipped: "some combinations were stored without PBO block summaries (N = 25, ⌊T/S⌋ = 15)" });
  });

  it("skips both for N < 2, T < 2 and a non-finite Sharpe, naming the value", () => {
    const one = input(returnsMatrix([Array.from(m.data.subarray(0, 250))]), 16);
    expect(sweepResearch({ ...one, psrOf: Int32Array.of(0) })).toEqual({ skipped: "N = 1 combination(s); DSR and PBO need N ≥ 2" });
    expect(sweepResearch({ ...input(m, 16), t: 1 })).toEqual({ skipped: "T = 1 return(s) per combination; DSR and PBO need T ≥ 2" });
    const bad = input(m, 16);
    bad.sr[7] = Number.NaN;
    expect(sweepResearch(bad)).toEqual({ skipped: "the combination at grid index 7 has a non-finite Sharpe (NaN or infinite returns)" });
  });
});
