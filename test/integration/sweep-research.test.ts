// A sweep's research statistics through the real workers on real BTC data: what sweep_research stores
// equals the MATRIX versions of the DSR, PSR and PBO over returns recomputed independently with the pure
// engine; the skip rule (the DSR kept when only the PBO is skipped: ⌊T/S⌋ < 2, or N over the PBO's limit,
// lowered here through the processor's options); a bad S refused by the payload schema and the CLI.
import { Job } from "bullmq";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { importPrices } from "../../db/import/import-prices.ts";
import { findAsset } from "../../db/repos/assets.ts";
import { loadBars } from "../../db/repos/prices.ts";
import { DATA_DIR } from "../../db/sample-data.ts";
import { enqueueSweep, sweepTree, type SweepSpec } from "../../queues/flows/sweep.ts";
import type { BacktestResult } from "../../queues/kinds/backtest.ts";
import { backtestKind } from "../../queues/registry.ts";
import { parseConfig } from "../../ops/config.ts";
import { sweepCommand } from "../../producers/commands/sweep.ts";
import { UsageError } from "../../producers/commands/command.ts";
import { backtestProcessor, type BacktestProcessorOptions } from "../../workers/backtest/processor.ts";
import { createFleetComputePool } from "../../workers/threads/fleet-pool.ts";
import type { ComputePool } from "../../workers/threads/pool.ts";
import { runBacktest } from "../../compute/backtest/engine.ts";
import { emaGridPairs } from "../../compute/backtest/sweep-grid.ts";
import { ema } from "../../compute/indicators/ema.ts";
import { deflatedSharpe, psrTop } from "../../compute/research/dsr.ts";
import { pbo } from "../../compute/research/pbo.ts";
import { returnsMatrix } from "../../compute/research/sharpe.ts";
import { emaCrossActions } from "../../compute/signals/ema-cross.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/db.ts";
import { testFleet, type TestFleet } from "../helpers/fleet.ts";
import { redisUrl } from "../helpers/redis.ts";
import { poll } from "../helpers/wait.ts";

const ROOT = resolve(import.meta.dirname, "../..");
const execFileP = promisify(execFile);

let db: TestDatabase;
let tf: TestFleet;
let compute: ComputePool;
let dir: string;

/** A fleet whose backtest workers run the processor with these options. */
async function backtestFleet(label: string, opts?: BacktestProcessorOptions): Promise<TestFleet> {
  const f = testFleet(label);
  await f.worker(backtestKind, backtestProcessor({ pool: db.pool, fleet: f.fleet, cfg: parseConfig({}), log: f.log.log, compute }, opts), { concurrency: 2 });
  return f;
}

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "sweep-research-"));
  db = await createTestDatabase();
  compute = createFleetComputePool(1);
  await importPrices(db.pool, resolve(DATA_DIR, "BTC-USD_daily.csv"), "BTC-USD", "CRYPTO");
  tf = await backtestFleet("research");
}, 60_000);
afterEach(async () => {
  await tf?.close();
  await compute?.close();
  await db?.drop();
  rmSync(dir, { recursive: true, force: true });
});

async function rootResult(f: TestFleet, rootJobId: string): Promise<BacktestResult> {
  return poll(async () => {
    const root = await Job.fromId(f.fleet.queue(backtestKind), rootJobId);
    return (await root?.isCompleted()) ? (root!.returnvalue as BacktestResult) : undefined;
  }, `${rootJobId} ranking`, 60_000);
}

async function ranked(spec: SweepSpec): Promise<{ sweepId: string; result: BacktestResult }> {
  const r = await enqueueSweep(tf.fleet, spec);
  return { sweepId: r.sweepId, result: await rootResult(tf, r.rootJobId) };
}

/** Independently: the same bars, the pure engine per grid pair, r_t = E[t]/E[t−1] − 1, as a returns matrix. */
async function independentReturns(spec: Pick<SweepSpec, "fast" | "slow">) {
  const asset = (await findAsset(db.pool, "BTC-USD"))!;
  const bars = await loadBars(db.pool, asset.asset_id, "9999-12-31");
  const pairs = emaGridPairs(spec.fast, spec.slow);
  const rows = pairs.map(([f, s]) => {
    const { equity } = runBacktest({ open: bars.open, close: bars.close, dates: bars.dates, actions: emaCrossActions(ema(bars.close, f), ema(bars.close, s)), feeBps: 10, periodsPerYear: 365 });
    return Array.from({ length: equity.length - 1 }, (_, t) => equity[t + 1]! / equity[t]! - 1);
  });
  return { bars, pairs, m: returnsMatrix(rows) };
}

/** |a − b| ≤ 1e-12·|b| (exact for integers and zeros). */
function expectRel(actual: number, expected: number, label: string): void {
  expect(Math.abs(actual - expected) <= 1e-12 * Math.abs(expected), `${label}: ${actual} vs ${expected}`).toBe(true);
}

describe("sweep research statistics", () => {
  it("stores the DSR, the top's PSR and the PBO the matrix functions give over the same bars", { timeout: 120_000 }, async () => {
    const spec: SweepSpec = { asset: "BTC-USD", strategy: "ema_cross", fast: [5, 20, 1], slow: [30, 60, 5], feeBps: 10, topN: 5, chunkSize: 40, s: 8 };
    const { sweepId, result } = await ranked(spec);
    const { bars, pairs, m } = await independentReturns(spec);
    const dsr = deflatedSharpe(m);
    const cscv = pbo(m, 8);
    const psrByIndex = new Map(psrTop(m, m.n).map((e) => [e.index, e.psr]));

    const { rows: stored } = await db.pool.query("SELECT * FROM sweep_research WHERE sweep_id = $1", [sweepId]);
    const r = stored[0];
    expect(r.skipped_reason).toBeNull();
    expect(r.pbo_skipped_reason).toBeNull();
    expect({ n: r.n, t: r.t, s: r.s, best: [r.best_fast, r.best_slow], blockLength: r.block_length, splits: r.splits }).toEqual({
      n: pairs.length,
      t: bars.dates.length - 1,
      s: 8,
      best: pairs[dsr.bestIndex],
      blockLength: Math.floor((bars.dates.length - 1) / 8),
      splits: 70,
    });
    for (const k of ["v", "sr0", "g3", "g4", "dsr"] as const) expectRel(r[k], dsr[k], k);
    expectRel(r.sr_star, dsr.srStar, "sr_star");
    expectRel(r.pbo, cscv.pbo, "pbo");
    expectRel(r.mean_oos_sharpe, cscv.meanOosSharpe, "mean_oos_sharpe");
    expectRel(r.slope, cscv.slope, "slope");
    expectRel(r.intercept, cscv.intercept, "intercept");
    expect(r.lambda_hist_counts).toEqual(Array.from(cscv.histogram.counts));
    cscv.histogram.edges.forEach((e, i) => expectRel(r.lambda_hist_edges[i], e, `edge ${i}`));
    cscv.isSharpe.forEach((v, i) => expectRel(r.is_sharpe[i], v, `IS ${i}`));
    cscv.oosSharpe.forEach((v, i) => expectRel(r.oos_sharpe[i], v, `OOS ${i}`));

    // The job result and the recorded top carry the same numbers; PSR per top row.
    expect(result.research).toEqual({ skipped: null, s: 8, n: pairs.length, t: dsr.t, dsr: r.dsr, best: { fast: r.best_fast, slow: r.best_slow }, pbo: r.pbo, splits: 70, pboSkipped: null });
    const index = new Map(pairs.map(([f, s], i) => [`${f}/${s}`, i]));
    const { rows: sweeps } = await db.pool.query<{ top: Array<{ fast: number; slow: number; psr: number }> }>("SELECT top FROM sweeps WHERE sweep_id = $1", [sweepId]);
    expect(sweeps[0]!.top).toHaveLength(5);
    for (const [i, t] of sweeps[0]!.top.entries()) {
      const want = psrByIndex.get(index.get(`${t.fast}/${t.slow}`)!)!;
      expectRel(t.psr, want, `psr ${t.fast}/${t.slow}`);
      expect(result.best![i]!.psr).toBe(t.psr);
    }
  });

  it("ranks and stores a sweep too short for the PBO with its DSR, and one too small for either with the reason", { timeout: 60_000 }, async () => {
    const csv = readFileSync(resolve(DATA_DIR, "BTC-USD_daily.csv"), "utf8").trim().split("\n");
    writeFileSync(join(dir, "short.csv"), `${csv.slice(0, 41).join("\n")}\n`);
    await importPrices(db.pool, join(dir, "short.csv"), "SHORT", "CRYPTO");
    const short = await ranked({ asset: "SHORT", strategy: "ema_cross", fast: [3, 5, 1], slow: [8, 10, 1], feeBps: 10, topN: 3, chunkSize: 4, s: 24 });
    const why = "T = 39 returns and S = 24 blocks leave ⌊T/S⌋ = 1 returns per block; PBO needs ≥ 2 (fewer blocks or more bars)";
    expect(short.result).toMatchObject({ evaluated: 9, failedChunks: 0, research: { skipped: null, s: 24, n: 9, t: 39, pbo: null, splits: null, pboSkipped: why } });
    expect(short.result.best!.map((b) => typeof b.psr)).toEqual(["number", "number", "number"]);
    const single = await ranked({ asset: "BTC-USD", strategy: "ema_cross", fast: [5, 5, 1], slow: [10, 10, 1], feeBps: 10, topN: 3, chunkSize: 4 });
    expect(single.result.research).toEqual({ skipped: "N = 1 combination(s); DSR and PBO need N ≥ 2", s: 16 });
    const { rows } = await db.pool.query(
      `SELECT r.sweep_id, r.s, r.skipped_reason, r.pbo_skipped_reason, r.dsr, r.pbo, (SELECT count(*)::int FROM sweep_results x WHERE x.sweep_id = r.sweep_id) AS results
       FROM sweep_research r ORDER BY r.s DESC`,
    );
    const shortResearch = short.result.research as { dsr: number };
    expect(rows).toEqual([
      { sweep_id: short.sweepId, s: 24, skipped_reason: null, pbo_skipped_reason: why, dsr: shortResearch.dsr, pbo: null, results: 9 },
      { sweep_id: single.sweepId, s: 16, skipped_reason: single.result.research!.skipped, pbo_skipped_reason: null, dsr: null, pbo: null, results: 1 },
    ]);
  });

  it("a sweep over the PBO's limit stores the DSR the matrix gives, no block summaries, and why the PBO was skipped; sweep --wait prints both", { timeout: 120_000 }, async () => {
    // The limit lowered to 10 through the processor's options: this 12-combination grid is "too large".
    const small = await backtestFleet("research-limit", { pboMaxCombinations: 10 });
    try {
      const args = ["sweep", "--strategy", "ema_cross", "--asset", "BTC-USD", "--fast", "5..8", "--slow", "20..30:5", "--top", "2", "--pbo-blocks", "8", "--chunk-size", "4", "--wait"];
      const env = { ...process.env, REDIS_URL: redisUrl(), DATABASE_URL: db.url, QUEUE_PREFIX: small.prefix, NODE_ENV: "test", LOG_LEVEL: "warn", LOG_PRETTY: "false" };
      const { stdout } = await execFileP(process.execPath, ["--import", "tsx", "apps/cli/enqueue.ts", ...args], { cwd: ROOT, env, timeout: 90_000 });
      const { rows } = await db.pool.query("SELECT r.*, s.top FROM sweep_research r JOIN sweeps s USING (sweep_id)");
      const r = rows[0];
      const why = "N = 12 combinations: PBO is computed for sweeps of up to 10 (its cost grows with N × C(S, S/2) splits); the DSR is not limited";
      expect({ skipped: r.skipped_reason, pboSkipped: r.pbo_skipped_reason, s: r.s }).toEqual({ skipped: null, pboSkipped: why, s: 8 });
      for (const k of ["pbo", "block_length", "splits", "lambda_hist_edges", "lambda_hist_counts", "mean_oos_sharpe", "slope", "intercept", "is_sharpe", "oos_sharpe"]) expect(r[k], k).toBeNull();

      const { pairs, m } = await independentReturns({ fast: [5, 8, 1], slow: [20, 30, 5] });
      const dsr = deflatedSharpe(m);
      expect({ n: r.n, t: r.t, best: [r.best_fast, r.best_slow] }).toEqual({ n: 12, t: m.t, best: pairs[dsr.bestIndex] });
      for (const k of ["v", "sr0", "g3", "g4", "dsr"] as const) expectRel(r[k], dsr[k], k);
      expectRel(r.sr_star, dsr.srStar, "sr_star");
      const psrByIndex = new Map(psrTop(m, m.n).map((e) => [e.index, e.psr]));
      const index = new Map(pairs.map(([f, s], i) => [`${f}/${s}`, i]));
      for (const t of r.top as Array<{ fast: number; slow: number; psr: number }>) expectRel(t.psr, psrByIndex.get(index.get(`${t.fast}/${t.slow}`)!)!, `psr ${t.fast}/${t.slow}`);

      // The chunks stored what the DSR needs and not the block arrays.
      const { rows: stored } = await db.pool.query(
        "SELECT count(*)::int AS n, count(sr)::int AS sr, count(g3)::int AS g3, count(g4)::int AS g4, count(n_returns)::int AS t, count(block_mean)::int AS blocks FROM sweep_results WHERE sweep_id = $1",
        [r.sweep_id],
      );
      expect(stored[0]).toEqual({ n: 12, sr: 12, g3: 12, g4: 12, t: 12, blocks: 0 });

      const result = await rootResult(small, `sweep.${r.sweep_id}.rank`);
      expect(result.research).toEqual({ skipped: null, s: 8, n: 12, t: m.t, dsr: r.dsr, best: { fast: r.best_fast, slow: r.best_slow }, pbo: null, splits: null, pboSkipped: why });
      expect(stdout.split("\n").at(-2)).toBe(`best fast ${r.best_fast} slow ${r.best_slow}: DSR ${r.dsr.toFixed(3)} over N = 12 trials, T = ${r.t} returns; PBO skipped (S = 8): ${why}`);
    } finally {
      await small.close();
    }
  });

  it("sweep --wait prints the top with each PSR, then the best's DSR and the PBO with S and the splits", { timeout: 120_000 }, async () => {
    const args = ["sweep", "--strategy", "ema_cross", "--asset", "BTC-USD", "--fast", "5..8", "--slow", "20..30:5", "--top", "2", "--pbo-blocks", "8", "--wait"];
    const env = { ...process.env, REDIS_URL: redisUrl(), DATABASE_URL: db.url, QUEUE_PREFIX: tf.prefix, NODE_ENV: "test", LOG_LEVEL: "warn", LOG_PRETTY: "false" };
    const { stdout } = await execFileP(process.execPath, ["--import", "tsx", "apps/cli/enqueue.ts", ...args], { cwd: ROOT, env, timeout: 90_000 });
    const { rows } = await db.pool.query("SELECT r.*, s.top FROM sweep_research r JOIN sweeps s USING (sweep_id)");
    const r = rows[0];
    const top = (r.top as Array<{ fast: number; slow: number; sharpe: number; total_return: number; psr: number }>).map(
      (b) => `  fast ${String(b.fast).padStart(3)}  slow ${String(b.slow).padStart(3)}  sharpe ${b.sharpe.toFixed(3)}  total return ${(100 * b.total_return).toFixed(1)} %  PSR ${b.psr.toFixed(3)}`,
    );
    expect(stdout.split("\n").slice(1)).toEqual([
      "ranked 12 combinations (0 failed chunks); top by Sharpe:",
      ...top,
      `best fast ${r.best_fast} slow ${r.best_slow}: DSR ${r.dsr.toFixed(3)} over N = 12 trials, T = ${r.t} returns; PBO ${r.pbo.toFixed(3)} (S = 8, 70 splits)`,
      "",
    ]);
  });

  it("refuses a bad S in the payloads and on the command line, naming the field and value", () => {
    const spec: SweepSpec = { asset: "BTC-USD", strategy: "ema_cross", fast: [5, 8, 1], slow: [10, 12, 1], feeBps: 10, topN: 3, chunkSize: 4 };
    const cfg = parseConfig({});
    const values = { strategy: "ema_cross", asset: "BTC-USD", fast: "5..8", slow: "10..12" };
    for (const s of [7, 2, 26]) {
      expect(() => sweepTree(tf.fleet, { ...spec, s })).toThrow(`backtest payload invalid: s: must be an even integer 4..24 (got ${s})`);
      expect(() => sweepCommand.prepare({ ...values, "pbo-blocks": String(s) }, [], cfg)).toThrow(
        new UsageError(`--pbo-blocks: must be an even integer 4..24 (got "${s}")`),
      );
    }
    expect(sweepTree(tf.fleet, { ...spec, s: 24 }).tree.data).toMatchObject({ mode: "sweep-rank", s: 24 });
    expect(sweepTree(tf.fleet, spec).tree.data).toMatchObject({ s: 16 });
  });
});
