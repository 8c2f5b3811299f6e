// The daily-refresh flow on real Redis with real workers: its shape, fan-in, and a permanent failure at
// every level of the tree — the root must always reach a final state with a correct per-asset summary.
import { Job } from "bullmq";
import { afterEach, describe, expect, it } from "vitest";
import { dailyRefresh } from "../../queues/flows/daily-refresh.ts";
import type { RunSummary } from "../../queues/kinds/flow.ts";
import { backtestKind, flowKind, signalKind, stageKind } from "../../queues/registry.ts";
import { PermanentError } from "../../workers/errors.ts";
import { flowProcessor } from "../../workers/flow/index.ts";
import { testFleet, type TestFleet } from "../helpers/fleet.ts";
import { poll } from "../helpers/wait.ts";

const ASSETS = ["AAA", "BBB"];
const SIGNALS = [1, 2];
const AS_OF = "2022-11-15";

let tf: TestFleet | undefined;
afterEach(async () => {
  await tf?.close();
  tf = undefined;
});

/** Starts workers whose processors fail permanently at `failAt` (e.g. "stage:returns:AAA"). */
async function startFleet(failAt?: string) {
  tf = testFleet("flow");
  const order: string[] = [];
  const maybeFail = (key: string) => {
    order.push(key);
    if (key === failAt) throw new PermanentError(`injected failure at ${key}`);
  };
  await tf.worker(flowKind, async (p, ctx) => {
    if (failAt === `flow:${p.node}` && p.node !== "gate") maybeFail(`flow:${p.node}`);
    return flowProcessor({ fleet: tf!.fleet, activeSignalIds: async () => SIGNALS })(p, ctx);
  });
  await tf.worker(stageKind, async (p) => {
    maybeFail(`stage:${p.stage}:${p.asset}`);
    return { stage: p.stage, asset: p.asset, rowsWritten: 1 };
  });
  await tf.worker(signalKind, async (p) => {
    maybeFail(`signal:${p.signalId}:${p.asset}`);
    return { signalId: p.signalId, asset: p.asset, signalType: "test", rowsWritten: 1, featureVersionHash: "0", openPositions: 0 };
  });
  await tf.worker(backtestKind, async (p) => {
    if (p.mode !== "signal") throw new Error("unexpected");
    maybeFail(`backtest:${p.signalId}:${p.asset}`);
    return { mode: "signal" as const };
  });
  return order;
}

async function runToEnd(opts: { rerun?: number } = {}): Promise<{ summary: RunSummary | undefined; state: string }> {
  const { rootJobId } = await dailyRefresh(tf!.fleet, ASSETS, AS_OF, opts);
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
    expect(summary?.assets[0]!.strategies?.map((s) => s.signalId)).toEqual(SIGNALS);
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
  const stageFailure = (failedAt: string, at: string): AssetSummary => ({ asset: "AAA", status: "failed", failedAt, reason: injected(at) });
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
        // The backtest fails with its signal (a required edge); the strategy reports why.
        const reason = `child ${prefix}:signal:signal.1.AAA.${AS_OF} failed`;
        return { asset: "AAA", status: "partial", failedAt: "strategy 1", reason, strategies: [{ signalId: 1, status: "failed", reason }, { signalId: 2, status: "completed" }] };
      },
    ],
    [
      "backtest:2:AAA",
      "backtest",
      () => ({
        asset: "AAA",
        status: "partial",
        failedAt: "strategy 2",
        reason: injected("backtest:2:AAA"),
        strategies: [{ signalId: 1, status: "completed" }, { signalId: 2, status: "failed", reason: injected("backtest:2:AAA") }],
      }),
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
      expect(b).toEqual({ asset: "BBB", status: "completed", strategies: SIGNALS.map((signalId) => ({ signalId, status: "completed" })) });
    });
  }

  it("a rerun of the day runs every job again and summarises its own, strategies included", async () => {
    const order = await startFleet();
    const completed = ASSETS.map((asset) => ({ asset, status: "completed", strategies: SIGNALS.map((signalId) => ({ signalId, status: "completed" })) }));
    const first = await runToEnd();
    const again = await runToEnd({ rerun: 2 });
    expect(first).toEqual({ state: "completed", summary: { runId: expect.stringMatching(/^2022-11-15-[0-9a-f]{8}$/), asOf: AS_OF, status: "completed", assets: completed } });
    expect(again).toEqual({ state: "completed", summary: { runId: expect.stringMatching(/^2022-11-15\.r2-[0-9a-f]{8}$/), asOf: AS_OF, status: "completed", assets: completed } });
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
    expect(summary?.assets).toEqual(ASSETS.map((asset) => ({ asset, status: "failed", failedAt: "summary", reason: "injected failure at flow:asset" })));
  });

  it("a failing root is final (failed), not stuck", async () => {
    await startFleet("flow:run");
    const { state } = await runToEnd();
    expect(state).toBe("failed");
  });
});
