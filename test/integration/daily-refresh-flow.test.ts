// The daily-refresh flow on real Redis with real workers: its shape, fan-in, and a permanent failure at
// every level of the tree — the root must always reach a final state with a correct per-asset summary,
// naming each failure's root cause (the job that broke) and each strategy by its name.
import { Job } from "bullmq";
import { afterEach, describe, expect, it } from "vitest";
import { upsertAsset } from "../../db/repos/assets.ts";
import { activeSignalIds, insertSignal, signalNames } from "../../db/repos/signals.ts";
import { parseConfig } from "../../ops/config.ts";
import { formatSummary } from "../../producers/progress.ts";
import { dailyRefresh } from "../../queues/flows/daily-refresh.ts";
import type { RunSummary } from "../../queues/kinds/flow.ts";
import { backtestKind, flowKind, signalKind, stageKind } from "../../queues/registry.ts";
import { PermanentError } from "../../workers/errors.ts";
import { rootCause } from "../../workers/flow/children.ts";
import { flowProcessor } from "../../workers/flow/index.ts";
import { signalProcessor } from "../../workers/signal/processor.ts";
import { createFleetComputePool } from "../../workers/threads/fleet-pool.ts";
import type { ComputePool } from "../../workers/threads/pool.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/db.ts";
import { testFleet, type TestFleet } from "../helpers/fleet.ts";
import { poll } from "../helpers/wait.ts";

const ASSETS = ["AAA", "BBB"];
const SIGNALS = [1, 2];
const NAMES = new Map([[1, "ema_9_21"], [2, "rsi_14_30_70"]]);
const AS_OF = "2022-11-15";

let tf: TestFleet | undefined;
let db: TestDatabase | undefined;
let compute: ComputePool | undefined;
afterEach(async () => {
  await tf?.close();
  await compute?.close();
  await db?.drop();
  tf = undefined;
  compute = undefined;
  db = undefined;
});

/**
 * Starts workers whose processors fail permanently at `failAt` (e.g. "stage:returns:AAA"). With `strategiesFrom`,
 * the active strategies and their names come from its dim_signals and the signal jobs run the real processor.
 */
async function startFleet(failAt?: string, strategiesFrom?: TestDatabase) {
  tf = testFleet("flow");
  const order: string[] = [];
  const maybeFail = (key: string) => {
    order.push(key);
    if (key === failAt) throw new PermanentError(`injected failure at ${key}`);
  };
  const pool = strategiesFrom?.pool;
  const strategies = pool
    ? { activeSignalIds: () => activeSignalIds(pool), signalNames: (ids: readonly number[]) => signalNames(pool, ids) }
    : { activeSignalIds: async () => SIGNALS, signalNames: async () => NAMES };
  await tf.worker(flowKind, async (p, ctx) => {
    if (failAt === `flow:${p.node}` && p.node !== "gate") maybeFail(`flow:${p.node}`);
    return flowProcessor({ fleet: tf!.fleet, ...strategies })(p, ctx);
  });
  await tf.worker(stageKind, async (p) => {
    maybeFail(`stage:${p.stage}:${p.asset}`);
    return { stage: p.stage, asset: p.asset, rowsWritten: 1 };
  });
  if (pool) {
    compute = createFleetComputePool(1);
    await tf.worker(signalKind, signalProcessor({ pool, fleet: tf.fleet, cfg: parseConfig({}), log: tf.log.log, compute }));
  } else {
    await tf.worker(signalKind, async (p) => {
      maybeFail(`signal:${p.signalId}:${p.asset}`);
      return { signalId: p.signalId, asset: p.asset, signalType: "test", rowsWritten: 1, featureVersionHash: "0", openPositions: 0 };
    });
  }
  await tf.worker(backtestKind, async (p) => {
    if (p.mode !== "signal") throw new Error("unexpected");
    maybeFail(`backtest:${p.signalId}:${p.asset}`);
    return { mode: "signal" as const };
  });
  return order;
}

async function runToEnd(opts: { rerun?: number } = {}, assets = ASSETS): Promise<{ summary: RunSummary | undefined; state: string }> {
  const { rootJobId } = await dailyRefresh(tf!.fleet, assets, AS_OF, opts);
  const queue = tf!.fleet.queue(flowKind);
  const state = await poll(async () => {
    const s = await (await Job.fromId(queue, rootJobId))?.getState();
    return s === "completed" || s === "failed" ? s : undefined;
  }, "the run root to reach a final state", 30_000);
  const root = await Job.fromId(queue, rootJobId);
  return { summary: root?.returnvalue as RunSummary | undefined, state };
}

describe("daily-refresh flow", () => {
  it("runs every stage in dependency order and summarises each asset", async () => {
    const order = await startFleet();
    const { summary, state } = await runToEnd();
    expect(state).toBe("completed");
    expect(summary?.status).toBe("completed");
    expect(summary?.assets.map((a) => [a.asset, a.status])).toEqual([["AAA", "completed"], ["BBB", "completed"]]);
    expect(summary?.assets[0]!.strategies?.map((s) => [s.signalId, s.name])).toEqual([[1, "ema_9_21"], [2, "rsi_14_30_70"]]);
    // Every stage, signal and backtest ran, each exactly once.
    const expected = ASSETS.flatMap((asset) => [
      ...["ema", "returns", "volatility", "ta", "features", "quality"].map((s) => `stage:${s}:${asset}`),
      ...SIGNALS.flatMap((id) => [`signal:${id}:${asset}`, `backtest:${id}:${asset}`]),
    ]);
    expect([...order].sort()).toEqual(expected.sort());
    const at = (k: string) => order.indexOf(k);
    for (const asset of ASSETS) {
      const ema = at(`stage:ema:${asset}`);
      const fanout = ["returns", "volatility", "ta"].map((s) => at(`stage:${s}:${asset}`));
      const features = at(`stage:features:${asset}`);
      const quality = at(`stage:quality:${asset}`);
      for (const i of fanout) expect(ema).toBeLessThan(i);
      for (const i of fanout) expect(i).toBeLessThan(features);
      expect(features).toBeLessThan(quality);
      for (const id of SIGNALS) {
        expect(quality).toBeLessThan(at(`signal:${id}:${asset}`));
        expect(at(`signal:${id}:${asset}`)).toBeLessThan(at(`backtest:${id}:${asset}`));
      }
    }
  });

  it("enqueueing the same day again adds nothing", async () => {
    await startFleet();
    const first = await dailyRefresh(tf!.fleet, ASSETS, AS_OF);
    const second = await dailyRefresh(tf!.fleet, ASSETS, AS_OF);
    expect(first.created).toBe(true);
    expect(second).toEqual({ ...first, created: false });
    // Another asset set on the same day may not take over assets of the first run.
    await expect(dailyRefresh(tf!.fleet, ["BBB"], AS_OF)).rejects.toThrow(/BBB is already in run 2022-11-15-[0-9a-f]{8} for 2022-11-15; pass a rerun number/);
    const rerun = await dailyRefresh(tf!.fleet, ["BBB"], AS_OF, { rerun: 1 });
    expect(rerun).toMatchObject({ created: true, runId: expect.stringMatching(/^2022-11-15\.r1-/) });
  });

  type AssetSummary = RunSummary["assets"][number];
  const injected = (at: string) => `injected failure at ${at}`;
  const completed = (signalId: number) => ({ signalId, name: NAMES.get(signalId), status: "completed" as const });
  // A stage that failed on its own is its own root cause.
  const stageFailure = (stage: string, at: string): AssetSummary => ({
    asset: "AAA",
    status: "failed",
    failedAt: stage,
    reason: injected(at),
    cause: { reason: injected(at), queue: "stage", jobId: `stage.${stage}.AAA.${AS_OF}` },
  });
  // The summary of AAA, given the queue prefix (BullMQ names a failed child by its full key).
  const levels: Array<[string, string, (prefix: string) => AssetSummary]> = [
    ["stage:ema:AAA", "ema", () => stageFailure("ema", "stage:ema:AAA")],
    ["stage:returns:AAA", "fan-out child", () => stageFailure("returns", "stage:returns:AAA")],
    ["stage:ta:AAA", "fan-out child", () => stageFailure("ta", "stage:ta:AAA")],
    ["stage:features:AAA", "fan-in", () => stageFailure("features", "stage:features:AAA")],
    ["stage:quality:AAA", "quality", () => stageFailure("quality", "stage:quality:AAA")],
    [
      "signal:1:AAA",
      "signal",
      (prefix) => {
        // The backtest fails with its signal (a required edge) and only says so; the cause is the signal job's own failure.
        const reason = `child ${prefix}:signal:signal.1.AAA.${AS_OF} failed`;
        const cause = { reason: injected("signal:1:AAA"), queue: "signal", jobId: `signal.1.AAA.${AS_OF}` };
        return {
          asset: "AAA",
          status: "partial",
          failedAt: "strategy ema_9_21 (#1)",
          reason,
          cause,
          strategies: [{ signalId: 1, name: "ema_9_21", status: "failed", reason, cause }, completed(2)],
        };
      },
    ],
    [
      "backtest:2:AAA",
      "backtest",
      () => {
        const cause = { reason: injected("backtest:2:AAA"), queue: "backtest", jobId: `backtest.2.AAA.${AS_OF}` };
        return {
          asset: "AAA",
          status: "partial",
          failedAt: "strategy rsi_14_30_70 (#2)",
          reason: injected("backtest:2:AAA"),
          cause,
          strategies: [completed(1), { signalId: 2, name: "rsi_14_30_70", status: "failed", reason: injected("backtest:2:AAA"), cause }],
        };
      },
    ],
  ];
  for (const [failAt, level, expected] of levels) {
    it(`a permanent failure at ${level} (${failAt}) fails its dependants only`, async () => {
      await startFleet(failAt);
      const { summary, state } = await runToEnd();
      expect(state).toBe("completed");
      expect(summary?.status).toBe("partial");
      const [a, b] = summary!.assets;
      expect(a).toEqual(expected(tf!.prefix));
      expect(b).toEqual({ asset: "BBB", status: "completed", strategies: SIGNALS.map(completed) });
    });
  }

  for (const stage of ["ema", "returns"]) {
    it(`the root cause is followed down a chain of required edges: strategies gate → … → ${stage}`, async () => {
      await startFleet(`stage:${stage}:AAA`);
      await runToEnd();
      const gate = { queue: "flow", id: `gate.strategies.AAA.${AS_OF}` };
      // The gate itself only reports its child (quality), which reports features, and so on down.
      expect((await Job.fromId(tf!.fleet.queue(flowKind), gate.id))?.failedReason).toBe(`child ${tf!.prefix}:stage:stage.quality.AAA.${AS_OF} failed`);
      expect(await rootCause(tf!.fleet, gate, "reported for the gate")).toEqual({ reason: injected(`stage:${stage}:AAA`), queue: "stage", jobId: `stage.${stage}.AAA.${AS_OF}` });
    });
  }

  it("a strategy with bad parameters: the summary names its signal job's own error and every strategy by name", async () => {
    db = await createTestDatabase();
    // The asset exists without bars: the good strategies' signal jobs find no features and complete empty.
    await upsertAsset(db.pool, "AAA", "CRYPTO");
    const seeded = await activeSignalIds(db.pool);
    const names = await signalNames(db.pool, seeded);
    const bad = await insertSignal(db.pool, "ema_crossover", "broken", { fast: 30, slow: 10 });
    await startFleet(undefined, db);
    const { summary, state } = await runToEnd({}, ["AAA"]);
    expect(state).toBe("completed");
    const id = bad.signal_id;
    const reason = `child ${tf!.prefix}:signal:signal.${id}.AAA.${AS_OF} failed`;
    const cause = { reason: `dim_signals ${id} (broken): params.slow: must be greater than fast (got 10)`, queue: "signal", jobId: `signal.${id}.AAA.${AS_OF}` };
    expect(summary).toEqual({
      runId: expect.stringMatching(/^2022-11-15-[0-9a-f]{8}$/),
      asOf: AS_OF,
      status: "partial",
      assets: [
        {
          asset: "AAA",
          status: "partial",
          failedAt: `strategy broken (#${id})`,
          reason,
          cause,
          strategies: [...seeded.map((signalId) => ({ signalId, name: names.get(signalId), status: "completed" })), { signalId: id, name: "broken", status: "failed", reason, cause }],
        },
      ],
    });
    expect([...names.values()]).toEqual(["ema_9_21", "rsi_14_30_70", "atr_breakout_20_14"]);
    // The CLI summary (daily-refresh --wait, npm run demo) shows the cause and the job it happened in.
    expect(formatSummary(summary!).split("\n")).toEqual([
      `run ${summary!.runId} (as of ${AS_OF}): partial`,
      `  AAA        partial (3/4 strategies)`,
      `    failed at strategy broken (#${id}): dim_signals ${id} (broken): params.slow: must be greater than fast (got 10) (job signal/signal.${id}.AAA.${AS_OF})`,
    ]);
  });

  it("a rerun of the day runs every job again and summarises its own, strategies included", async () => {
    const order = await startFleet();
    const assets = ASSETS.map((asset) => ({ asset, status: "completed", strategies: SIGNALS.map(completed) }));
    const first = await runToEnd();
    const again = await runToEnd({ rerun: 2 });
    expect(first).toEqual({ state: "completed", summary: { runId: expect.stringMatching(/^2022-11-15-[0-9a-f]{8}$/), asOf: AS_OF, status: "completed", assets } });
    expect(again).toEqual({ state: "completed", summary: { runId: expect.stringMatching(/^2022-11-15\.r2-[0-9a-f]{8}$/), asOf: AS_OF, status: "completed", assets } });
    expect(order.filter((k) => k === "backtest:2:BBB")).toHaveLength(2);
    // The strategies gate keeps the signal ids it added: it reads their outcomes by job id when it resumes.
    const gate = await Job.fromId(tf!.fleet.queue(flowKind), "gate.strategies.AAA.2022-11-15.r2");
    expect(gate?.data).toMatchObject({ step: "waiting", signalIds: SIGNALS, rerun: 2 });
  });

  it("a failing asset summary still lets the root finish", async () => {
    await startFleet("flow:asset");
    const { summary, state } = await runToEnd();
    expect(state).toBe("completed");
    expect(summary?.status).toBe("failed");
    expect(summary?.assets).toEqual(
      ASSETS.map((asset) => ({
        asset,
        status: "failed",
        failedAt: "summary",
        reason: injected("flow:asset"),
        cause: { reason: injected("flow:asset"), queue: "flow", jobId: `asset.${asset}.${AS_OF}` },
      })),
    );
  });

  it("a failing root is final (failed), not stuck", async () => {
    await startFleet("flow:run");
    const { state } = await runToEnd();
    expect(state).toBe("failed");
  });
});
