// The daily-refresh flow. BullMQ flows are trees (a parent runs after all its children), while the
// pipeline is a DAG with two fan-outs (EMAs feed three stages; data quality feeds every strategy).
// Gates bridge that: a gate runs when its subtree is done, then adds the dependants as its own
// children and waits for them. Per asset, in execution order:
//
//   ema ─► gate:indicators ─► {returns, volatility, ta} ─► (gate resumes) ─► features ─► quality
//       ─► gate:strategies ─► per active signal config: signal ─► backtest ─► (gate resumes) ─► asset summary
//   run root ◄─ every asset summary
//
// Failure policy per edge (see EDGE below): inside an asset a failed stage fails everything that depends
// on it (failParentOnFailure) up to the strategies gate; the gate→asset and asset→run edges ignore
// failures, so the asset summary and the run root always run and reach a final state; one strategy's
// failure does not block the others (ignoreDependencyOnFailure on strategy→gate).
import { createHash } from "node:crypto";
import type { FlowJob, JobsOptions } from "bullmq";
import type { Context } from "@opentelemetry/api";
import { flowNode } from "../enqueue.ts";
import type { Fleet } from "../fleet.ts";
import { backtestKind, flowKind, signalKind, stageKind } from "../registry.ts";
import type { StageName } from "../kinds/stage.ts";

export const EDGE = Object.freeze({
  /** A dependency: the parent cannot do its work without this child. */
  required: { failParentOnFailure: true } satisfies JobsOptions,
  /** The parent runs anyway and reads the failure (getIgnoredChildrenFailures). */
  tolerated: { ignoreDependencyOnFailure: true } satisfies JobsOptions,
});

export const INDICATOR_STAGES = ["returns", "volatility", "ta"] as const satisfies readonly StageName[];

export interface RunKey {
  asOf: string;
  rerun?: number;
  /** Identifies the run (day, rerun and asset set); carried in every payload, not in job ids. */
  runId: string;
  /** The trace the run's jobs continue (the producer's span, or the job that adds them). */
  parent?: Context;
}

/** Job ids below the root are per (asset, day, rerun): the same work never runs twice under two runs. */
const suffix = (k: Pick<RunKey, "rerun">) => (k.rerun ? `.r${k.rerun}` : "");

export function runKey(asOf: string, assets: readonly string[], rerun?: number): RunKey {
  const set = createHash("sha256").update([...new Set(assets)].sort().join(",")).digest("hex").slice(0, 8);
  return { asOf, ...(rerun ? { rerun } : {}), runId: `${asOf}${suffix({ rerun })}-${set}` };
}

const stage = (fleet: Fleet, s: StageName, asset: string, k: RunKey, children?: FlowJob[]): FlowJob => ({
  ...flowNode(fleet, stageKind, { stage: s, asset, asOf: k.asOf, runId: k.runId, ...(k.rerun ? { rerun: k.rerun } : {}) }, EDGE.required, k.parent),
  ...(children ? { children } : {}),
});

const gate = (fleet: Fleet, g: "indicators" | "strategies", asset: string, k: RunKey, opts: JobsOptions, children: FlowJob[]): FlowJob => ({
  ...flowNode(fleet, flowKind, { node: "gate", gate: g, asset, asOf: k.asOf, runId: k.runId, ...(k.rerun ? { rerun: k.rerun } : {}) }, opts, k.parent),
  children,
});

/** The static part of one asset's tree; gates add the rest when they run. */
export function assetTree(fleet: Fleet, asset: string, k: RunKey): FlowJob {
  const ema = stage(fleet, "ema", asset, k);
  const indicators = gate(fleet, "indicators", asset, k, EDGE.required, [ema]);
  const features = stage(fleet, "features", asset, k, [indicators]);
  const quality = stage(fleet, "quality", asset, k, [features]);
  const strategies = gate(fleet, "strategies", asset, k, EDGE.tolerated, [quality]);
  return {
    ...flowNode(fleet, flowKind, { node: "asset", asset, asOf: k.asOf, runId: k.runId, ...(k.rerun ? { rerun: k.rerun } : {}) }, EDGE.tolerated, k.parent),
    children: [strategies],
  };
}

export function runTree(fleet: Fleet, assets: string[], k: RunKey): FlowJob {
  const unique = [...new Set(assets)];
  return {
    ...flowNode(fleet, flowKind, { node: "run", runId: k.runId, asOf: k.asOf, assets: unique }, {}, k.parent),
    children: unique.map((a) => assetTree(fleet, a, k)),
  };
}

/** Dependants the indicators gate adds under itself. */
export function indicatorChildren(fleet: Fleet, asset: string, k: RunKey): FlowJob[] {
  return INDICATOR_STAGES.map((s) => stage(fleet, s, asset, k));
}

/** One signal → backtest chain per active strategy configuration, added by the strategies gate. */
export function strategyChildren(fleet: Fleet, asset: string, k: RunKey, signalIds: number[]): FlowJob[] {
  const rerun = k.rerun ? { rerun: k.rerun } : {};
  return signalIds.map((signalId) => ({
    ...flowNode(fleet, backtestKind, { mode: "signal", signalId, asset, asOf: k.asOf, runId: k.runId, ...rerun }, EDGE.tolerated, k.parent),
    children: [flowNode(fleet, signalKind, { signalId, asset, asOf: k.asOf, runId: k.runId, ...rerun }, EDGE.required, k.parent)],
  }));
}

/** Deterministic ids of one asset's jobs in dependency order (the summary walks them to find a failure). */
export function assetJobIds(asset: string, k: Pick<RunKey, "asOf" | "rerun">) {
  const r = suffix(k);
  const s = (name: StageName) => ({ queue: stageKind.name, id: `stage.${name}.${asset}.${k.asOf}${r}`, step: name });
  return [
    s("ema"),
    ...INDICATOR_STAGES.map(s),
    { queue: flowKind.name, id: `gate.indicators.${asset}.${k.asOf}${r}`, step: "indicators" },
    s("features"),
    s("quality"),
    { queue: flowKind.name, id: `gate.strategies.${asset}.${k.asOf}${r}`, step: "strategies" },
  ];
}

export const assetNodeId = (asset: string, k: Pick<RunKey, "asOf" | "rerun">) => `asset.${asset}.${k.asOf}${suffix(k)}`;

export class RunConflictError extends Error {
  override name = "RunConflictError";
}

export interface DailyRefreshResult {
  runId: string;
  rootJobId: string;
  /** False when a run for this day (and rerun number) already exists: nothing was added. */
  created: boolean;
}

/**
 * Adds the daily-refresh flow for `assets` as of `asOf`: a no-op when the same run exists; refused when
 * another run of that day already covers one of the assets (use a rerun number to run it again).
 */
export async function dailyRefresh(fleet: Fleet, assets: string[], asOf: string, opts: { rerun?: number; parent?: Context } = {}): Promise<DailyRefreshResult> {
  const k = { ...runKey(asOf, assets, opts.rerun), ...(opts.parent ? { parent: opts.parent } : {}) };
  const tree = runTree(fleet, assets, k);
  const rootJobId = tree.opts!.jobId!;
  const flows = fleet.queue(flowKind);
  if (await flows.getJob(rootJobId)) return { runId: k.runId, rootJobId, created: false };
  for (const asset of new Set(assets)) {
    const other = await flows.getJob(assetNodeId(asset, k));
    if (other) {
      throw new RunConflictError(`${asset} is already in run ${other.data.runId} for ${asOf}; pass a rerun number (--rerun N) to run it again`);
    }
  }
  await fleet.flowProducer().add(tree);
  return { runId: k.runId, rootJobId, created: true };
}
