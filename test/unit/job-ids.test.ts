// Job ids come from the kinds' declarations only: every node a flow builds carries kind.jobId / jobName /
// jobOptions of its own payload, the id lookups (progress, summaries, gates) agree with the tree, and the
// ids themselves are the ones runs already in Redis have (idempotency depends on them).
import type { FlowJob } from "bullmq";
import { describe, expect, it } from "vitest";
import { assetJobIds, assetNodeId, indicatorChildren, runKey, runTree, strategyChildren, strategyJobId, type RunKey } from "../../queues/flows/daily-refresh.ts";
import { sweepIdOf, sweepTree, type SweepSpec } from "../../queues/flows/sweep.ts";
import { walkForwardIdOf, walkForwardTree, type WalkForwardSpec } from "../../queues/flows/walk-forward.ts";
import { parsePayload } from "../../queues/kind.ts";
import { KIND_NAMES, kindByName, selectKinds } from "../../queues/registry.ts";

const fleet = { prefix: "{ids}" };
const walk = (n: FlowJob): FlowJob[] => [n, ...(n.children ?? []).flatMap(walk)];

/** Each node as its kind would have built it from the node's own payload. */
function expectDeclared(nodes: FlowJob[]) {
  for (const node of nodes) {
    const kind = kindByName(node.queueName);
    const payload = parsePayload(kind, node.data);
    expect(node.opts?.jobId, JSON.stringify(node.data)).toBe(kind.jobId(payload));
    expect(node.name).toBe(kind.jobName(payload));
    expect(node.prefix).toBe(fleet.prefix);
    expect(node.opts).toMatchObject(kind.jobOptions);
  }
}

describe("daily-refresh job ids", () => {
  const SIGNALS = [3, 7];

  function run(rerun?: number) {
    const k: RunKey = runKey("2022-11-15", ["AAA", "BBB"], rerun);
    const tree = runTree(fleet, ["AAA", "BBB", "AAA"], k);
    // What the gates add later, as they add it.
    const added = ["AAA", "BBB"].flatMap((a) => [...indicatorChildren(fleet, a, k), ...strategyChildren(fleet, a, k, SIGNALS)]);
    return { k, nodes: [...walk(tree), ...added.flatMap(walk)] };
  }

  it("every node's id, name and options are its kind's, for a first run and a rerun", () => {
    for (const rerun of [undefined, 2]) {
      const { nodes } = run(rerun);
      // run root, 2 × (asset, 2 gates, 3 static stages, 3 indicator stages, 2 × (backtest, signal))
      expect(nodes).toHaveLength(1 + 2 * (1 + 2 + 3 + 3 + 2 * 2));
      expectDeclared(nodes);
    }
  });

  it("ids are the ones earlier runs were added with", () => {
    const { k, nodes } = run(2);
    expect(k.runId).toMatch(/^2022-11-15\.r2-[0-9a-f]{8}$/);
    const aaa = nodes.map((n) => n.opts!.jobId!).filter((id) => id.startsWith("run.") || id.includes(".AAA."));
    expect(aaa).toEqual([
      `run.${k.runId}`,
      "asset.AAA.2022-11-15.r2",
      "gate.strategies.AAA.2022-11-15.r2",
      "stage.quality.AAA.2022-11-15.r2",
      "stage.features.AAA.2022-11-15.r2",
      "gate.indicators.AAA.2022-11-15.r2",
      "stage.ema.AAA.2022-11-15.r2",
      "stage.returns.AAA.2022-11-15.r2",
      "stage.volatility.AAA.2022-11-15.r2",
      "stage.ta.AAA.2022-11-15.r2",
      "backtest.3.AAA.2022-11-15.r2",
      "signal.3.AAA.2022-11-15.r2",
      "backtest.7.AAA.2022-11-15.r2",
      "signal.7.AAA.2022-11-15.r2",
    ]);
    expect(run().nodes.map((n) => n.opts!.jobId).filter((id) => id?.includes(".BBB."))).toContain("stage.ema.BBB.2022-11-15");
  });

  it("the id lookups name the nodes of the tree", () => {
    for (const rerun of [undefined, 2]) {
      const { k, nodes } = run(rerun);
      const byId = new Map(nodes.map((n) => [n.opts!.jobId!, n]));
      const steps = assetJobIds("AAA", k);
      expect(steps.map((s) => s.step)).toEqual(["ema", "returns", "volatility", "ta", "indicators", "features", "quality", "strategies"]);
      for (const s of steps) expect(byId.get(s.id)?.queueName, s.id).toBe(s.queue);
      expect(byId.get(assetNodeId("AAA", k))?.data).toMatchObject({ node: "asset", asset: "AAA" });
      for (const id of SIGNALS) expect(byId.get(strategyJobId(id, "AAA", k))?.data).toMatchObject({ mode: "signal", signalId: id, asset: "AAA" });
    }
  });
});

describe("sweep job ids", () => {
  it("chunks and the ranking root carry their kind's ids", () => {
    const spec: SweepSpec = { asset: "AAA", strategy: "ema_cross", fast: [2, 5, 1], slow: [4, 9, 1], feeBps: 10, topN: 3, chunkSize: 7 };
    const { tree, sweepId, chunks } = sweepTree(fleet, spec);
    expect(sweepId).toBe(sweepIdOf(spec));
    const nodes = walk(tree);
    expect(nodes).toHaveLength(1 + chunks);
    expectDeclared(nodes);
    expect(nodes.map((n) => n.opts!.jobId)).toEqual([`sweep.${sweepId}.rank`, ...Array.from({ length: chunks }, (_, i) => `sweep.${sweepId}.chunk${i}`)]);
  });
});

describe("walk-forward job ids", () => {
  const spec: WalkForwardSpec = { asset: "AAA", strategy: "ema_cross", fast: [2, 5, 1], slow: [4, 9, 1], train: 100, test: 50, feeBps: 10 };

  it("windows and the stitching root carry their kind's ids, derived from the walk-forward id", () => {
    // n = 260: s_k = 100, 150, 200, 250 ≤ 258; the last window is bars 250..259.
    const { tree, walkForwardId, windows } = walkForwardTree(fleet, spec, 260);
    expect(walkForwardId).toBe(walkForwardIdOf(spec, 260));
    expect(walkForwardId).toMatch(/^AAA-ema_cross-wf-[0-9a-f]{10}$/);
    const nodes = walk(tree);
    expect(windows).toBe(4);
    expectDeclared(nodes);
    expect(nodes.map((n) => n.opts!.jobId)).toEqual([`wf.${walkForwardId}.root`, ...[0, 1, 2, 3].map((k) => `wf.${walkForwardId}.window${k}`)]);
    expect(nodes.at(-1)!.data).toMatchObject({ mode: "wf-window", k: 3, testEnd: 259 });
    expect(nodes.slice(1).every((n) => n.opts?.failParentOnFailure === true)).toBe(true);
  });

  it("the id changes with every input, the number of bars included, and no window is refused naming train, test and n", () => {
    const specs = [spec, { ...spec, train: 101 }, { ...spec, test: 51 }, { ...spec, feeBps: 5 }, { ...spec, slow: [4, 9, 2] as [number, number, number] }];
    const ids = [...specs.map((s) => walkForwardIdOf(s, 300)), walkForwardIdOf(spec, 301)];
    expect(new Set(ids).size).toBe(6);
    expect(walkForwardTree(fleet, spec, 300).walkForwardId).toBe(ids[0]);
    expect(() => walkForwardTree(fleet, spec, 101)).toThrow("train/test: no walk-forward window fits n = 101 bars (train 100, test 50)");
  });
});

describe("queue lists", () => {
  it("unset means every declared kind; a list keeps its order without repeats", () => {
    expect(selectKinds(undefined, "WORKER_QUEUES")).toEqual([...KIND_NAMES]);
    expect(selectKinds(["llm", "stage", "llm"], "--queues")).toEqual(["llm", "stage"]);
  });

  it("an unknown or missing name is refused naming the key, the value and the known names", () => {
    const known = `known: ${KIND_NAMES.join(", ")}`;
    expect(() => selectKinds(["stage", "stgae"], "WORKER_QUEUES")).toThrow(new Error(`WORKER_QUEUES: unknown queue "stgae" (${known})`));
    expect(() => selectKinds(["constructor"], "--queues")).toThrow(new Error(`--queues: unknown queue "constructor" (${known})`));
    expect(() => selectKinds([], "--queues")).toThrow(new Error(`--queues: no queue named (${known})`));
    expect(() => kindByName("toString")).toThrow(new Error(`unknown queue "toString"; ${known}`));
  });
});
