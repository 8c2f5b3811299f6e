// Signals, backtests and sweeps through the real flow on real BTC data.
import { Job, Worker } from "bullmq";
import { readFileSync, writeFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { importPrices } from "../../db/import/import-prices.ts";
import { getRun } from "../../db/repos/backtests.ts";
import { activeSignalIds, insertSignal, SIGNAL_TABLES, STORE_COLUMNS } from "../../db/repos/signals.ts";
import { configureStrategy, STRATEGIES } from "../../compute/signals/catalog.ts";
import { DATA_DIR } from "../../db/sample-data.ts";
import { dailyRefresh } from "../../queues/flows/daily-refresh.ts";
import { enqueueSweep } from "../../queues/flows/sweep.ts";
import type { RunSummary } from "../../queues/kinds/flow.ts";
import type { BacktestResult } from "../../queues/kinds/backtest.ts";
import { backtestKind, flowKind, signalKind, stageKind } from "../../queues/registry.ts";
import { parseConfig } from "../../ops/config.ts";
import { StaleComparisonError, compareRuns } from "../../workers/backtest/compare.ts";
import { runBacktest } from "../../compute/backtest/engine.ts";
import { backtestProcessor } from "../../workers/backtest/processor.ts";
import { sweepEmaCross } from "../../compute/backtest/sweep.ts";
import { createFleetComputePool } from "../../workers/threads/fleet-pool.ts";
import type { ComputePool } from "../../workers/threads/pool.ts";
import { flowProcessor } from "../../workers/flow/index.ts";
import { emaCrossActions } from "../../compute/signals/ema-cross.ts";
import { positionsFromActions } from "../../compute/signals/positions.ts";
import { signalProcessor } from "../../workers/signal/processor.ts";
import { ema } from "../../compute/indicators/ema.ts";
import { stageProcessor } from "../../workers/stage/processor.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/db.ts";
import { testFleet, type TestFleet } from "../helpers/fleet.ts";
import { poll } from "../helpers/wait.ts";
import { redisUrl } from "../helpers/redis.ts";
import { closeRedis, createRedis } from "../../queues/connection.ts";
import { loadStrategyInputs } from "../../workers/signal/load.ts";
import { runFeatureDigest } from "../../compute/signals/strategy.ts";
import type { SignalResult } from "../../queues/kinds/signal.ts";

let db: TestDatabase;
let tf: TestFleet;
let compute: ComputePool;
const dir = mkdtempSync(join(tmpdir(), "strat-"));
const csv = readFileSync(resolve(DATA_DIR, "BTC-USD_daily.csv"), "utf8").trim().split("\n");
const rows = csv.slice(1).map((l) => l.split(","));
const btc = { dates: rows.map((r) => r[0]!), open: Float64Array.from(rows, (r) => Number(r[1])), close: Float64Array.from(rows, (r) => Number(r[4])) };

beforeAll(async () => {
  db = await createTestDatabase();
  tf = testFleet("strat");
  compute = createFleetComputePool(1);
  await importPrices(db.pool, resolve(DATA_DIR, "BTC-USD_daily.csv"), "BTC-USD", "CRYPTO");
  const deps = { pool: db.pool, fleet: tf.fleet, cfg: parseConfig({}), log: tf.log.log, compute };
  await tf.worker(stageKind, stageProcessor({ ...deps, emaTimeframes: ["1W"] }), { concurrency: 2 });
  await tf.worker(flowKind, flowProcessor({ fleet: tf.fleet, activeSignalIds: () => activeSignalIds(db.pool) }));
  await tf.worker(signalKind, signalProcessor(deps));
  await tf.worker(backtestKind, backtestProcessor(deps), { concurrency: 2 });
}, 120_000);
afterAll(async () => {
  await tf.close();
  await compute.close();
  await db.drop();
});

async function refresh(assets: string[], asOf: string, rerun?: number): Promise<RunSummary> {
  const r = await dailyRefresh(tf.fleet, assets, asOf, rerun ? { rerun } : {});
  return poll(async () => {
    const root = await Job.fromId(tf.fleet.queue(flowKind), r.rootJobId);
    return (await root?.isCompleted()) ? (root!.returnvalue as RunSummary) : undefined;
  }, `run ${r.runId}`, 120_000);
}

const backtestJob = async (id: string) => (await Job.fromId(tf.fleet.queue(backtestKind), id))?.returnvalue as BacktestResult;

describe("signals and backtests", () => {
  it("the migrations agree with the strategy declarations: types, signals tables, seeded configurations", async () => {
    const types = await db.pool.query<{ t: string }>("SELECT signal_type AS t FROM dim_signal_types ORDER BY 1");
    expect(types.rows.map((r) => r.t)).toEqual(STRATEGIES.map((s) => s.type).sort());
    for (const spec of Object.values(SIGNAL_TABLES)) {
      const { rows } = await db.pool.query<{ c: string }>("SELECT column_name AS c FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $1", [spec.table]);
      expect(rows.map((r) => r.c).sort(), spec.table).toEqual([...spec.keys, ...spec.values].map(([c]) => c).sort());
    }
    // Every type ships with a configuration, and the seeded ones read the feature store rather than derive.
    const seeded = await db.pool.query<{ signal_type: string; params: unknown }>("SELECT signal_type, params FROM dim_signals ORDER BY signal_id");
    expect(new Set(seeded.rows.map((r) => r.signal_type))).toEqual(new Set(STRATEGIES.map((s) => s.type)));
    for (const r of seeded.rows) {
      for (const c of configureStrategy(r.signal_type, r.params).columns) expect(STORE_COLUMNS.has(c), `${r.signal_type} reads ${c}`).toBe(true);
    }
    await expect(insertSignal(db.pool, "ema_crosover", "typo", { fast: 9, slow: 21 })).rejects.toThrow(/dim_signals_signal_type_fkey/);
  });

  it("the daily refresh runs every active strategy; EMA 9/21 on BTC matches the engine exactly", async () => {
    const summary = await refresh(["BTC-USD"], "2022-11-15");
    const seeded = await activeSignalIds(db.pool);
    expect(summary.assets[0]).toMatchObject({ status: "completed", strategies: seeded.map((signalId) => ({ signalId, status: "completed" })) });
    const bt = await backtestJob("backtest.1.BTC-USD.2022-11-15");
    const signal = (await Job.fromId(tf.fleet.queue(signalKind), "signal.1.BTC-USD.2022-11-15"))!.returnvalue as SignalResult;
    expect(bt.featureVersionHash).toMatch(/^[0-9a-f]{16}$/);
    expect(bt.featureVersionHash).toBe(signal.featureVersionHash);
    const run = await getRun(db.pool, bt.runIds![0]!);
    const ref = runBacktest({ open: btc.open, close: btc.close, dates: btc.dates, actions: emaCrossActions(ema(btc.close, 9), ema(btc.close, 21)), feeBps: 10, periodsPerYear: 365 });
    for (const k of ["total_return", "cagr", "sharpe", "sortino", "max_drawdown", "calmar", "var_95", "cvar_95", "win_rate", "profit_factor", "trades", "exposure"] as const) {
      expect(Object.is(run!.metrics[k], ref.metrics[k]), `${k}: ${run!.metrics[k]} vs ${ref.metrics[k]}`).toBe(true);
    }
    const trades = await db.pool.query("SELECT count(*)::int AS n FROM backtest_trades WHERE run_id = $1", [run!.run_id]);
    expect(trades.rows[0].n).toBe(ref.trades.length);
    const eq = await db.pool.query("SELECT count(*)::int AS n, max(drawdown) AS dd FROM backtest_equity WHERE run_id = $1", [run!.run_id]);
    expect(eq.rows[0].n).toBe(btc.dates.length);
    expect(eq.rows[0].dd).toBeCloseTo(ref.metrics.max_drawdown, 12);
    const positions = await db.pool.query("SELECT signal_state, count(*)::int AS n FROM signals_ema_crossover WHERE signal_id = 1 GROUP BY 1");
    expect(positions.rows).toEqual([{ signal_state: "CLOSED", n: ref.trades.length }]);
    const snap = await db.pool.query("SELECT feature_snapshot, feature_version_hash FROM signals_ema_crossover WHERE signal_id = 1 ORDER BY entry_ts LIMIT 1");
    expect(Object.keys(snap.rows[0].feature_snapshot)).toEqual(["close", "ema_9", "ema_21"]);
    expect(snap.rows[0].feature_version_hash).toMatch(/^[0-9a-f]{16}$/);
    const atr = await db.pool.query("SELECT breakout_type, channel_high > 0 AS ok FROM signals_atr_breakout LIMIT 1");
    expect(atr.rows[0]).toEqual({ breakout_type: "channel_break", ok: true });
  });

  it("a backtest takes its signal child's feature hash only for features with the same bytes (digest)", async () => {
    const asOf = "2022-11-15";
    const { strategy, features } = await loadStrategyInputs(db.pool, 1, "BTC-USD", asOf);
    const digest = runFeatureDigest(strategy.run(features));
    // A child that reports what the test says, in place of the signal job: a reused hash shows as the planted one.
    const connection = createRedis(redisUrl(), "digest-probe");
    const probe = new Worker("digest-probe", async (job) => job.data, { connection, prefix: tf.prefix });
    try {
      const backtest = async (jobId: string, reply: Partial<SignalResult>) => {
        await tf.fleet.flowProducer().add({
          name: "signal", queueName: backtestKind.name, data: { mode: "signal", signalId: 1, asset: "BTC-USD", asOf }, opts: { jobId },
          children: [{ name: "probe", queueName: "digest-probe", data: reply }],
        });
        return poll(async () => (await backtestJob(jobId))?.featureVersionHash, jobId, 60_000);
      };
      expect(await backtest("digest-same", { featureDigest: digest, featureVersionHash: "planted000000000" })).toBe("planted000000000");
      const computed = (await backtestJob("backtest.1.BTC-USD.2022-11-15")).featureVersionHash;
      expect(await backtest("digest-other", { featureDigest: "0".repeat(64), featureVersionHash: "planted000000000" })).toBe(computed);
      expect(await backtest("digest-none", { featureVersionHash: "planted000000000" })).toBe(computed);
    } finally {
      await probe.close();
      await closeRedis(connection);
    }
  });

  it("a re-run on the same features gives bit-identical metrics; different features are refused as stale", async () => {
    await refresh(["BTC-USD"], "2022-11-15", 1);
    const a = await getRun(db.pool, (await backtestJob("backtest.1.BTC-USD.2022-11-15")).runIds![0]!);
    const b = await getRun(db.pool, (await backtestJob("backtest.1.BTC-USD.2022-11-15.r1")).runIds![0]!);
    expect(a!.run_id).not.toBe(b!.run_id);
    const diff = compareRuns(a!, b!);
    for (const [k, d] of Object.entries(diff)) expect(Object.is(d.a, d.b), k).toBe(true);
    await refresh(["BTC-USD"], "2022-06-30", 2);
    const older = await getRun(db.pool, (await backtestJob("backtest.1.BTC-USD.2022-06-30.r2")).runIds![0]!);
    expect(() => compareRuns(a!, older!)).toThrow(StaleComparisonError);
  });

  it("bad strategy parameters fail that strategy permanently, naming the field; others complete", async () => {
    const seeded = await activeSignalIds(db.pool);
    const bad = await insertSignal(db.pool, "ema_crossover", "broken", { fast: 30, slow: 10 });
    try {
      const summary = await refresh(["BTC-USD"], "2022-11-15", 3);
      const s = summary.assets[0]!;
      expect(s.status).toBe("partial");
      const broken = s.strategies!.find((x) => x.signalId === bad.signal_id)!;
      expect(broken.status).toBe("failed");
      const signalJob = await Job.fromId(tf.fleet.queue(signalKind), `signal.${bad.signal_id}.BTC-USD.2022-11-15.r3`);
      expect(signalJob!.failedReason).toMatch(/params\.slow: .*\(got 10\)/);
      expect(signalJob!.attemptsMade).toBe(1);
      expect(s.strategies!.filter((x) => x.status === "completed")).toHaveLength(seeded.length);
    } finally {
      await db.pool.query("UPDATE dim_signals SET is_active = false WHERE signal_id = $1", [bad.signal_id]);
    }
  });

  it("an open position carries over and is closed in place when its exit arrives", async () => {
    const ref = positionsFromActions(emaCrossActions(ema(btc.close, 9), ema(btc.close, 21)), btc.dates, btc.open);
    const p = ref.at(-3)!; // a closed trade: cut the data while it is open
    const cut = p.exitIndex! - 1;
    writeFileSync(join(dir, "head.csv"), csv.slice(0, cut + 2).join("\n"));
    await importPrices(db.pool, join(dir, "head.csv"), "CARRY", "CRYPTO");
    await refresh(["CARRY"], btc.dates[cut]!);
    const state = async () => (await db.pool.query(
      "SELECT signal_state, to_char(exit_ts, 'YYYY-MM-DD') AS exit FROM signals_ema_crossover s JOIN assets USING (asset_id) WHERE symbol = 'CARRY' AND signal_id = 1 AND entry_ts = $1",
      [p.entryDate],
    )).rows[0];
    expect(await state()).toEqual({ signal_state: "OPEN", exit: null });
    await importPrices(db.pool, resolve(DATA_DIR, "BTC-USD_daily.csv"), "CARRY", "CRYPTO");
    await refresh(["CARRY"], "2022-11-15");
    expect(await state()).toEqual({ signal_state: "CLOSED", exit: p.exitDate });
    const sig = (await Job.fromId(tf.fleet.queue(signalKind), "signal.1.CARRY.2022-11-15"))!.returnvalue;
    // Only positions in the dirty window are rewritten: the carried-over one and any after it.
    expect(sig.rowsWritten).toBe(ref.length - ref.indexOf(p));
  });
});

describe("sweeps", () => {
  it("fans out chunks, ranks the full grid by Sharpe, and matches the pure sweep", async () => {
    const spec = { asset: "BTC-USD", strategy: "ema_cross" as const, fast: [5, 20, 3] as [number, number, number], slow: [10, 60, 5] as [number, number, number], feeBps: 10, topN: 5, chunkSize: 20 };
    const r = await enqueueSweep(tf.fleet, spec);
    expect(r.chunks).toBe(Math.ceil(r.combos / 20));
    const res = await poll(async () => {
      const root = await Job.fromId(tf.fleet.queue(backtestKind), r.rootJobId);
      return (await root?.isCompleted()) ? (root!.returnvalue as BacktestResult) : undefined;
    }, "sweep ranking", 60_000);
    expect(res.evaluated).toBe(r.combos);
    const ref = sweepEmaCross({ open: btc.open, close: btc.close, dates: btc.dates, fastRange: spec.fast, slowRange: spec.slow, feeBps: 10, periodsPerYear: 365 });
    const best = [...ref].sort((x, y) => y.sharpe - x.sharpe).slice(0, 5);
    expect(res.best!.map((b) => [b.fast, b.slow, b.sharpe])).toEqual(best.map((b) => [b.fast, b.slow, b.sharpe]));
    const grid = await db.pool.query("SELECT count(*)::int AS n FROM sweep_results WHERE sweep_id = $1", [r.sweepId]);
    expect(grid.rows[0].n).toBe(ref.length);
    const sweep = await db.pool.query("SELECT status, combos, chunks, failed_chunks FROM sweeps WHERE sweep_id = $1", [r.sweepId]);
    expect(sweep.rows[0]).toEqual({ status: "completed", combos: ref.length, chunks: r.chunks, failed_chunks: 0 });
    expect((await enqueueSweep(tf.fleet, spec)).created).toBe(false);
  });
});
