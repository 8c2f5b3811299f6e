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
import type { FlowJob, Job, JobsOptions } from "bullmq";
import type { Context } from "@opentelemetry/api";
import { flowNode } from "../enqueue.ts";
import type { Fleet } from "../fleet.ts";
import { rerunSuffix, type PayloadOf } from "../kind.ts";
import { backtestKind, flowKind, signalKind, stageKind } from "../registry.ts";
import type { StageName } from "../kinds/stage.ts";

export const EDGE = Object.freeze({
  /** A dependency: the parent cannot do its work without this child. */
  required: { failParentOnFailure: true } satisfies JobsOptions,
  /** The parent runs anyway and reads the failure (getIgnoredChildrenFailures). */
  tolerated: { ignoreDependencyOnFailure: true } satisfies JobsOptions,
});

export const INDICATOR_STAGES = ["returns", "volatility", "ta"] as const satisfies readonly StageName[];

/** The kinds a run's jobs belong to (workflow state follows them). */
export const RUN_KINDS = Object.freeze([flowKind, stageKind, signalKind, backtestKind]);

export interface RunKey {
  asOf: string;
  rerun?: number;
  /** Identifies the run (day, rerun and asset set); carried in every payload, not in job ids. */
  runId: string;
  /** The trace the run's jobs continue (the producer's span, or the job that adds them). */
  parent?: Context;
}

type RunIds = Omit<RunKey, "parent">;

export function runKey(asOf: string, assets: readonly string[], rerun?: number): RunKey {
  const set = createHash("sha256").update([...new Set(assets)].sort().join(",")).digest("hex").slice(0, 8);
  return { asOf, ...(rerun ? { rerun } : {}), runId: `${asOf}${rerunSuffix(rerun)}-${set}` };
}

// Payloads of the run's nodes, built in one place: the tree adds them, and the id lookups below pass the same
// payloads to their kind's jobId, so no id is formatted by hand. Ids below the root are per (asset, day,
// rerun): the same work never runs twice under two runs.
const common = (k: RunIds) => ({ asOf: k.asOf, runId: k.runId, ...(k.rerun ? { rerun: k.rerun } : {}) });
const runPayload = (assets: readonly string[], k: RunIds): PayloadOf<typeof flowKind> => ({ node: "run", assets: [...new Set(assets)], ...common(k) });
const stagePayload = (s: StageName, asset: string, k: RunIds): PayloadOf<typeof stageKind> => ({ stage: s, asset, ...common(k) });
const gatePayload = (gate: "indicators" | "strategies", asset: string, k: RunIds): PayloadOf<typeof flowKind> => ({ node: "gate", gate, asset, step: "start", ...common(k) });
const assetPayload = (asset: string, k: RunIds): PayloadOf<typeof flowKind> => ({ node: "asset", asset, ...common(k) });
const signalPayload = (signalId: number, asset: string, k: RunIds): PayloadOf<typeof signalKind> => ({ signalId, asset, ...common(k) });
const backtestPayload = (signalId: number, asset: string, k: RunIds): PayloadOf<typeof backtestKind> => ({ mode: "signal", signalId, asset, ...common(k) });

type Prefixed = Pick<Fleet, "prefix">;

/**
 * The first stage of each asset's tree waits behind everything else on the stage queue (BullMQ serves jobs
 * without a priority before prioritised ones): a run goes depth-first, an asset's later stages running as
 * soon as they are due instead of after every other asset's EMAs. The stages of one asset then run close
 * together, while its rows are still in PostgreSQL's buffers and a worker's cache (db/repos/read-cache.ts).
 */
const ENTRY_STAGE: JobsOptions = { ...EDGE.required, priority: 1 };

const stage = (fleet: Prefixed, s: StageName, asset: string, k: RunKey, children?: FlowJob[]): FlowJob => ({
  ...flowNode(fleet, stageKind, stagePayload(s, asset, k), s === "ema" ? ENTRY_STAGE : EDGE.required, k.parent),
  ...(children ? { children } : {}),
});

const gate = (fleet: Prefixed, g: "indicators" | "strategies", asset: string, k: RunKey, opts: JobsOptions, children: FlowJob[]): FlowJob => ({
  ...flowNode(fleet, flowKind, gatePayload(g, asset, k), opts, k.parent),
  children,
});

/** The static part of one asset's tree; gates add the rest when they run. */
export function assetTree(fleet: Prefixed, asset: string, k: RunKey): FlowJob {
  const ema = stage(fleet, "ema", asset, k);
  const indicators = gate(fleet, "indicators", asset, k, EDGE.required, [ema]);
  const features = stage(fleet, "features", asset, k, [indicators]);
  const quality = stage(fleet, "quality", asset, k, [features]);
  const strategies = gate(fleet, "strategies", asset, k, EDGE.tolerated, [quality]);
  return { ...flowNode(fleet, flowKind, assetPayload(asset, k), EDGE.tolerated, k.parent), children: [strategies] };
}

export function runTree(fleet: Prefixed, assets: string[], k: RunKey): FlowJob {
  return {
    ...flowNode(fleet, flowKind, runPayload(assets, k), {}, k.parent),
    children: [...new Set(assets)].map((a) => assetTree(fleet, a, k)),
  };
}

/** Dependants the indicators gate adds under itself. */
export function indicatorChildren(fleet: Prefixed, asset: string, k: RunKey): FlowJob[] {
  return INDICATOR_STAGES.map((s) => stage(fleet, s, asset, k));
}

/** One signal → backtest chain per active strategy configuration, added by the strategies gate. */
export function strategyChildren(fleet: Prefixed, asset: string, k: RunKey, signalIds: number[]): FlowJob[] {
  return signalIds.map((signalId) => ({
    ...flowNode(fleet, backtestKind, backtestPayload(signalId, asset, k), EDGE.tolerated, k.parent),
    children: [flowNode(fleet, signalKind, signalPayload(signalId, asset, k), EDGE.required, k.parent)],
  }));
}

/** Deterministic ids of one asset's jobs in dependency order (the summary walks them to find a failure). */
export function assetJobIds(asset: string, k: RunIds) {
  const s = (name: StageName) => ({ queue: stageKind.name, id: stageKind.jobId(stagePayload(name, asset, k))!, step: name });
  const g = (name: "indicators" | "strategies") => ({ queue: flowKind.name, id: flowKind.jobId(gatePayload(name, asset, k))!, step: name });
  return [s("ema"), ...INDICATOR_STAGES.map(s), g("indicators"), s("features"), s("quality"), g("strategies")];
}

export const assetNodeId = (asset: string, k: RunIds) => flowKind.jobId(assetPayload(asset, k))!;

/** Job id of the backtest that ends strategy `signalId`'s chain (the strategies gate reads its outcome). */
export const strategyJobId = (signalId: number, asset: string, k: RunIds) => backtestKind.jobId(backtestPayload(signalId, asset, k))!;

/** What already holds rerun number `rerun` (none: the day's first run) of day `asOf` for `assets`. */
export interface RunSlot {
  runId: string;
  rootJobId: string;
  /** The root of this very run (same day, rerun number and asset set), when it was added before. */
  root?: Job;
  /** Otherwise: an asset that another run of that day already has under this rerun number. */
  taken?: { asset: string; runId: string };
}

/**
 * Looks the slot up by job ids (a run's root, and per asset its summary node, whose id has no asset set in
 * it): a slot with neither is free, and dailyRefresh adds a run there. Reruns are numbered per day and asset.
 */
export async function runSlot(fleet: Fleet, assets: readonly string[], asOf: string, rerun?: number): Promise<RunSlot> {
  const k = runKey(asOf, assets, rerun);
  const rootJobId = flowKind.jobId(runPayload(assets, k))!;
  const flows = fleet.queue(flowKind);
  const root = await flows.getJob(rootJobId);
  if (root) return { runId: k.runId, rootJobId, root };
  for (const asset of new Set(assets)) {
    const other = await flows.getJob(assetNodeId(asset, k));
    if (other) return { runId: k.runId, rootJobId, taken: { asset, runId: String(other.data.runId) } };
  }
  return { runId: k.runId, rootJobId };
}

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
  const slot = await runSlot(fleet, assets, asOf, opts.rerun);
  if (slot.root) return { runId: slot.runId, rootJobId: slot.rootJobId, created: false };
  if (slot.taken) {
    throw new RunConflictError(`${slot.taken.asset} is already in run ${slot.taken.runId} for ${asOf}; pass a rerun number (--rerun N) to run it again`);
  }
  await fleet.flowProducer().add(runTree(fleet, assets, { ...runKey(asOf, assets, opts.rerun), ...(opts.parent ? { parent: opts.parent } : {}) }));
  return { runId: slot.runId, rootJobId: slot.rootJobId, created: true };
}
