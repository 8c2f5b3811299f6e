// The scheduled daily refresh names its assets in config: one that is not in the assets table fails the
// trigger job once, naming it, before any flow is enqueued (like the CLI refuses it). The scheduled
// walk-forward (WALK_FORWARD_CRON) enqueues one walk-forward flow per asset over its bars as they are.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resolve } from "node:path";
import { importPrices } from "../../db/import/import-prices.ts";
import { parseConfig } from "../../ops/config.ts";
import { schedules } from "../../producers/schedules.ts";
import { walkForwardIdOf } from "../../queues/flows/walk-forward.ts";
import { enqueue } from "../../queues/enqueue.ts";
import { backtestKind, flowKind, maintenanceKind, stageKind } from "../../queues/registry.ts";
import type { ComputePool } from "../../workers/threads/pool.ts";
import { maintenanceProcessor } from "../../workers/maintenance/index.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/db.ts";
import { testFleet, type TestFleet } from "../helpers/fleet.ts";
import { poll } from "../helpers/wait.ts";

let db: TestDatabase;
let tf: TestFleet;

beforeAll(async () => {
  db = await createTestDatabase();
  tf = testFleet("sched-assets");
  // The refusal happens before the flow is built: the compute pool is never touched.
  const deps = { pool: db.pool, fleet: tf.fleet, cfg: parseConfig({}), log: tf.log.log, compute: {} as ComputePool };
  await tf.worker(maintenanceKind, maintenanceProcessor(deps));
});
afterAll(async () => {
  await tf?.close();
  await db?.drop();
});

describe("scheduled daily refresh", () => {
  it("refuses an unknown asset without retry and enqueues nothing", async () => {
    const job = await enqueue(tf.fleet, maintenanceKind, { task: "daily-refresh", assets: ["NOPE"], asOf: "2022-11-15" });
    const q = tf.fleet.queue(maintenanceKind);
    const failed = await poll(async () => ((await q.getJobState(job.id!)) === "failed" ? q.getJob(job.id!) : undefined), "the trigger job to fail");
    expect(failed!.failedReason).toBe(
      'assets: unknown symbol "NOPE" (no asset is known yet; import prices first: npm run import -- <file.csv> --symbol X --session CRYPTO|EQUITY)',
    );
    expect(failed!.attemptsMade).toBe(1);
    for (const kind of [flowKind, stageKind]) expect(await tf.fleet.queue(kind).getJobCountByTypes("waiting", "waiting-children", "delayed", "active", "completed", "failed")).toBe(0);
  });
});

describe("scheduled walk-forward", () => {
  // After the daily-refresh test, which wants no asset known.
  beforeAll(() => importPrices(db.pool, resolve(import.meta.dirname, "../../data/BTC-USD_daily.csv"), "BTC-USD", "CRYPTO"));

  it("is scheduled only with WALK_FORWARD_CRON, over DAILY_REFRESH_ASSETS unless WALK_FORWARD_ASSETS names others", () => {
    expect(schedules(parseConfig({})).find((s) => s.id === "walk-forward")).toBeUndefined();
    const cfg = parseConfig({ WALK_FORWARD_CRON: "0 0 2 * * 6", DAILY_REFRESH_ASSETS: "BTC-USD,SPY", WALK_FORWARD_FAST: "5..20:5" });
    expect(schedules(cfg).find((s) => s.id === "walk-forward")).toEqual({
      id: "walk-forward",
      pattern: "0 0 2 * * 6",
      tz: "UTC",
      payload: { task: "walk-forward", assets: ["BTC-USD", "SPY"], fast: [5, 20, 5], slow: [10, 200, 5], train: 730, test: 365, feeBps: 10 },
    });
    expect(schedules(parseConfig({ WALK_FORWARD_CRON: "0 0 2 * * 6", WALK_FORWARD_ASSETS: "ETH-USD" })).find((s) => s.id === "walk-forward")?.payload).toMatchObject({ assets: ["ETH-USD"] });
    expect(() => parseConfig({ WALK_FORWARD_SLOW: "10-200" })).toThrow("WALK_FORWARD_SLOW");
  });

  it("enqueues one walk-forward flow per asset over its bars, and nothing new for the same bars", async () => {
    const payload = { task: "walk-forward" as const, assets: ["BTC-USD"], fast: [5, 10, 5] as [number, number, number], slow: [20, 30, 10] as [number, number, number], train: 1_000, test: 1_000, feeBps: 10 };
    const q = tf.fleet.queue(maintenanceKind);
    const run = async () => {
      const job = await enqueue(tf.fleet, maintenanceKind, payload);
      return poll(async () => ((await q.getJobState(job.id!)) === "completed" ? (await q.getJob(job.id!))!.returnvalue : undefined), "the trigger job to complete");
    };
    const { rows } = await db.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM prices_daily p JOIN assets a USING (asset_id) WHERE a.symbol = 'BTC-USD'");
    const walkForwardId = walkForwardIdOf({ asset: "BTC-USD", strategy: "ema_cross", fast: payload.fast, slow: payload.slow, train: 1_000, test: 1_000, feeBps: 10 }, rows[0]!.n);
    // s_k = 1000, 2000 ≤ n − 2 for the ~3,000 sample bars: two windows.
    expect(await run()).toEqual({ task: "walk-forward", walkForwards: [{ asset: "BTC-USD", walkForwardId, windows: 2, created: true }] });
    const backtests = tf.fleet.queue(backtestKind);
    expect(await backtests.getJob(`wf.${walkForwardId}.root`)).toBeDefined();
    expect(await backtests.getJob(`wf.${walkForwardId}.window1`)).toBeDefined();
    expect(await run()).toEqual({ task: "walk-forward", walkForwards: [{ asset: "BTC-USD", walkForwardId, windows: 2, created: false }] });
  });
});
