// Stage jobs on the real sample data through the real flow: values follow the conventions, warm-ups are
// NULL, re-runs write nothing, an incremental refresh sends only the rows that change and equals a full one.
import { copyFileSync, readFileSync, writeFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Job } from "bullmq";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { importPrices } from "../../db/import/import-prices.ts";
import { DATA_DIR } from "../../db/sample-data.ts";
import { refreshQualityRollups } from "../../db/repos/quality.ts";
import { dailyRefresh } from "../../queues/flows/daily-refresh.ts";
import type { RunSummary } from "../../queues/kinds/flow.ts";
import { flowKind, stageKind } from "../../queues/registry.ts";
import { enqueue } from "../../queues/enqueue.ts";
import { parseConfig } from "../../ops/config.ts";
import { computeAllIndicators, FEATURE_COLUMNS } from "../../compute/indicators/catalog.ts";
import { FEATURE_EXTRA_SOURCES, STAGE_REVISES } from "../../compute/indicators/stages.ts";
import { FEATURE_INPUT_COLUMNS, loadFeatureInputs } from "../../db/repos/feature-store.ts";
import { DAILY_FEATURES, EMA_DAILY, EMA_MULTI_TF, STAGE_TABLES } from "../../db/repos/feature-tables.ts";
import { createFleetComputePool } from "../../workers/threads/fleet-pool.ts";
import type { ComputePool } from "../../workers/threads/pool.ts";
import { flowProcessor } from "../../workers/flow/index.ts";
import { stageProcessor } from "../../workers/stage/processor.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/db.ts";
import { testFleet, type TestFleet } from "../helpers/fleet.ts";
import { poll } from "../helpers/wait.ts";
import { sameBits } from "../helpers/bits.ts";

let db: TestDatabase;
let tf: TestFleet;
let compute: ComputePool;
const dir = mkdtempSync(join(tmpdir(), "stages-"));

beforeAll(async () => {
  db = await createTestDatabase();
  tf = testFleet("stages");
  compute = createFleetComputePool(1);
  await importPrices(db.pool, resolve(DATA_DIR, "BTC-USD_daily.csv"), "BTC-USD", "CRYPTO");
  await importPrices(db.pool, resolve(DATA_DIR, "SPY_daily.csv"), "SPY", "EQUITY");
  // Stages only: no strategies, so the strategies gate has nothing to add.
  await db.pool.query("UPDATE dim_signals SET is_active = false");
  const deps = { pool: db.pool, fleet: tf.fleet, cfg: parseConfig({}), log: tf.log.log, compute };
  await tf.worker(stageKind, stageProcessor({ ...deps, emaTimeframes: ["7D", "1M"] }), { concurrency: 2 });
  await tf.worker(flowKind, flowProcessor({ fleet: tf.fleet, activeSignalIds: async () => [] }));
}, 120_000);
afterAll(async () => {
  await tf.close();
  await compute.close();
  await db.drop();
});

async function run(assets: string[], asOf: string, rerun?: number): Promise<RunSummary> {
  const r = await dailyRefresh(tf.fleet, assets, asOf, rerun ? { rerun } : {});
  return poll(async () => {
    const root = await Job.fromId(tf.fleet.queue(flowKind), r.rootJobId);
    return (await root?.isCompleted()) ? (root!.returnvalue as RunSummary) : undefined;
  }, `run ${r.runId}`, 90_000);
}

const btc = () => {
  const lines = readFileSync(resolve(DATA_DIR, "BTC-USD_daily.csv"), "utf8").trim().split("\n").slice(1);
  const cols = lines.map((l) => l.split(",").map(Number));
  const col = (i: number) => Float64Array.from(cols.map((c) => c[i]!));
  return { dates: lines.map((l) => l.slice(0, 10)), open: col(1), high: col(2), low: col(3), close: col(4), volume: col(5) };
};

describe("stage jobs", () => {
  it("the migrated feature tables have exactly the columns derived from the indicator declarations", async () => {
    for (const spec of [EMA_DAILY, EMA_MULTI_TF, ...Object.values(STAGE_TABLES), DAILY_FEATURES]) {
      const { rows } = await db.pool.query<{ c: string }>("SELECT column_name AS c FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $1", [spec.table]);
      expect(rows.map((r) => r.c).sort(), spec.table).toEqual([...spec.keys, ...spec.values].map(([c]) => c).sort());
    }
  });

  it("a daily refresh fills every stage table; every declared column is stored exactly; warm-ups are NULL", async () => {
    const summary = await run(["BTC-USD", "SPY"], "2022-11-15");
    expect(summary.status).toBe("completed");
    const ref = computeAllIndicators(btc(), { periodsPerYear: 365 });
    const { rows } = await db.pool.query(
      `SELECT to_char(ts, 'YYYY-MM-DD') AS ts, ${FEATURE_COLUMNS.join(", ")} FROM daily_features f JOIN assets a USING (asset_id) WHERE a.symbol = 'BTC-USD' ORDER BY ts`,
    );
    expect(rows).toHaveLength(2982);
    const firstDefined = (c: string) => rows.findIndex((r) => r[c] !== null);
    expect(firstDefined("ema_21")).toBe(20);
    expect(firstDefined("atr_14")).toBe(14);
    expect(firstDefined("rsi_14")).toBe(14);
    expect(firstDefined("macd_signal")).toBe(33);
    expect(firstDefined("adx_14")).toBe(27);
    expect(firstDefined("ret_365_pct")).toBe(365);
    for (const c of FEATURE_COLUMNS) {
      const off = rows.findIndex((r, i) => !Object.is(r[c] === null ? NaN : r[c], ref[c][i]!));
      expect(off, `${c}[${off}]: ${rows[off]?.[c]} vs ${ref[c][off]}`).toBe(-1);
    }
    const nan = await db.pool.query("SELECT count(*)::int AS n FROM daily_features WHERE rsi_14 = 'NaN' OR ema_200 = 'NaN'");
    expect(nan.rows[0].n).toBe(0);
    const q = await db.pool.query("SELECT symbol, gaps, status, overall_score, issue_count FROM quality_metrics ORDER BY symbol");
    expect(q.rows.map((r) => [r.symbol, r.gaps])).toEqual([["BTC-USD", 0], ["SPY", 0]]);
    expect(q.rows[0].overall_score).toBeGreaterThan(90);
    const multi = await db.pool.query("SELECT tf, count(*) FILTER (WHERE is_canonical)::int AS canon FROM ema_multi_tf JOIN assets USING (asset_id) WHERE symbol = 'BTC-USD' AND period = 5 GROUP BY tf ORDER BY tf");
    expect(multi.rows).toEqual([{ tf: "1M", canon: 98 }, { tf: "7D", canon: 426 }]);
  });

  it("the feature inputs read in part (some columns, some days) are the whole read's, bit for bit", async () => {
    const { rows } = await db.pool.query<{ id: number }>("SELECT asset_id AS id FROM assets WHERE symbol = 'BTC-USD'");
    const whole = await loadFeatureInputs(db.pool, rows[0]!.id, "2022-11-15");
    const n = whole.dates.length;
    const picked = [0, 13, 500, n - 2, n - 1];
    // A day without a bar (after the last) is not a row.
    const part = await loadFeatureInputs(db.pool, rows[0]!.id, "2022-11-15", { columns: FEATURE_EXTRA_SOURCES, days: [...picked.map((i) => whole.dates[i]!), "2022-11-16"] });
    expect(part.dates).toEqual(picked.map((i) => whole.dates[i]));
    expect(Object.keys(part).sort()).toEqual(["dates", ...FEATURE_EXTRA_SOURCES].sort());
    for (const c of FEATURE_EXTRA_SOURCES) expect(sameBits(part[c]!, Float64Array.from(picked, (i) => whole[c]![i]!)), c).toBe(true);
    const all = await loadFeatureInputs(db.pool, rows[0]!.id, "2022-11-15", { days: whole.dates.slice(-3) });
    for (const c of FEATURE_INPUT_COLUMNS) expect(sameBits(all[c]!, whole[c]!.slice(-3)), c).toBe(true);
    await expect(loadFeatureInputs(db.pool, rows[0]!.id, "2022-11-15", { columns: ["close", "is_outlier"] })).rejects.toThrow(/columns: "is_outlier" is not a feature-store input column/);
  });

  it("re-running a day writes nothing new (idempotent upserts)", async () => {
    const summary = await run(["BTC-USD"], "2022-11-15", 1);
    expect(summary.status).toBe("completed");
    const ema = await Job.fromId(tf.fleet.queue(stageKind), "stage.ema.BTC-USD.2022-11-15.r1");
    expect(ema?.returnvalue.rowsWritten).toBe(0);
  });

  it("an appended bar refreshes only the dirty window, and a full recompute yields identical rows", async () => {
    // A fresh asset with all but the last bar, refreshed; then the last bar arrives.
    const src = readFileSync(resolve(DATA_DIR, "BTC-USD_daily.csv"), "utf8").trim().split("\n");
    const head = join(dir, "head.csv");
    writeFileSync(head, src.slice(0, -1).join("\n"));
    copyFileSync(resolve(DATA_DIR, "BTC-USD_daily.csv"), join(dir, "full.csv"));
    await importPrices(db.pool, head, "INCR", "CRYPTO");
    await run(["INCR"], "2022-11-14");
    await importPrices(db.pool, join(dir, "full.csv"), "INCR", "CRYPTO");
    await run(["INCR"], "2022-11-15");
    const written = async (stage: string, asOf: string) => (await Job.fromId(tf.fleet.queue(stageKind), `stage.${stage}.INCR.${asOf}`))?.returnvalue.rowsWritten;
    // Only the new bar changes: one row per table (× periods and timeframes for EMAs).
    expect(await written("returns", "2022-11-15")).toBe(1);
    expect(await written("ta", "2022-11-15")).toBe(1);
    expect(await written("features", "2022-11-15")).toBe(1);
    expect(await written("ema", "2022-11-15")).toBe(7 + 2 * 7);
    // The inputs up to the watermark are unchanged (their fingerprint matches): PostgreSQL gets only the rows
    // that change, not the lookback window; the ema stage (computed once) also its last stored row per series,
    // which the upsert leaves as it is unless the new bar changed it.
    for (const stage of ["ema", "returns", "volatility", "ta", "features"]) {
      const d = (await Job.fromId(tf.fleet.queue(stageKind), `stage.${stage}.INCR.2022-11-15`))?.returnvalue.details;
      const sent = stage === "ema" ? (1 + STAGE_REVISES.ema!) * (7 + 2 * 7) : await written(stage, "2022-11-15");
      expect(d, stage).toMatchObject({ prevN: src.length - 2, rowsSent: sent });
    }
    const snapshot = async () =>
      (await db.pool.query(
        `SELECT md5(string_agg(f::text, '|' ORDER BY ts)) AS h FROM daily_features f JOIN assets USING (asset_id) WHERE symbol = 'INCR'`,
      )).rows[0].h as string;
    const incremental = await snapshot();
    for (const stage of ["ema", "returns", "volatility", "ta", "features"] as const) {
      const job = await enqueue(tf.fleet, stageKind, { stage, asset: "INCR", asOf: "2022-11-15", full: true, rerun: 7 });
      await poll(async () => (await Job.fromId(tf.fleet.queue(stageKind), job.id!))?.isCompleted(), `full ${stage}`, 60_000);
      expect((await Job.fromId(tf.fleet.queue(stageKind), job.id!))?.returnvalue.rowsWritten, stage).toBe(0);
    }
    expect(await snapshot()).toBe(incremental);
  });

  it("a revised bar before the watermark changes the fingerprint: the lookback window is rewritten, equal to a full recompute", async () => {
    const src = readFileSync(join(dir, "full.csv"), "utf8").trim().split("\n");
    const i = src.length - 10;
    const f = src[i]!.split(",");
    f[4] = String(Number(f[4]) * 1.01);
    f[2] = String(Math.max(Number(f[2]), Number(f[4])));
    src[i] = f.join(",");
    writeFileSync(join(dir, "revised.csv"), src.join("\n"));
    await importPrices(db.pool, join(dir, "revised.csv"), "INCR", "CRYPTO");
    await run(["INCR"], "2022-11-15", 3);
    const ema = (await Job.fromId(tf.fleet.queue(stageKind), "stage.ema.INCR.2022-11-15.r3"))?.returnvalue;
    expect(ema?.details).toMatchObject({ from: src.length - 1 - 200, rowsSent: 200 * (7 + 2 * 7) });
    expect(ema?.rowsWritten).toBeGreaterThan(0);
    for (const stage of ["ema", "returns", "volatility", "ta", "features"] as const) {
      const job = await enqueue(tf.fleet, stageKind, { stage, asset: "INCR", asOf: "2022-11-15", full: true, rerun: 8 });
      await poll(async () => (await Job.fromId(tf.fleet.queue(stageKind), job.id!))?.isCompleted(), `full ${stage}`, 60_000);
      expect((await Job.fromId(tf.fleet.queue(stageKind), job.id!))?.returnvalue.rowsWritten, stage).toBe(0);
    }
  });

  it("the quality rollups summarise the checks per hour and per day (idempotently)", async () => {
    const first = await refreshQualityRollups(db.pool, new Date(Date.now() - 3600_000));
    const again = await refreshQualityRollups(db.pool, new Date(Date.now() - 3600_000));
    expect(again).toEqual(first);
    const { rows } = await db.pool.query(
      `SELECT d.symbol, d.checks, d.checks = (SELECT count(*) FROM quality_metrics q WHERE q.symbol = d.symbol) AS all_counted, d.pct_excellent
       FROM quality_metrics_daily d ORDER BY d.symbol`,
    );
    expect(rows.map((r) => [r.symbol, r.all_counted])).toEqual([["BTC-USD", true], ["INCR", true], ["SPY", true]]);
    const hourly = await db.pool.query("SELECT sum(checks)::int AS n FROM quality_metrics_hourly");
    expect(hourly.rows[0].n).toBe((await db.pool.query("SELECT count(*)::int AS n FROM quality_metrics")).rows[0].n);
  });

  it("an asset with no bars as of the day is skipped; an unknown asset fails at ema", async () => {
    const summary = await run(["SPY", "NOPE"], "1999-01-04");
    expect(summary.assets).toEqual([
      expect.objectContaining({ asset: "SPY", status: "skipped" }),
      expect.objectContaining({ asset: "NOPE", status: "failed", failedAt: "ema", reason: expect.stringMatching(/unknown asset NOPE/) }),
    ]);
  });
});
