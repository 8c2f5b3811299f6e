import { z } from "zod";
import { BASE_JOB_OPTIONS, defineKind, isoDate, rerunSuffix, runId, symbol } from "../kind.ts";

// Orchestration nodes of the daily-refresh flow: the run root, one summary per asset, and fan-out gates
// that add their dependants when they run (a BullMQ flow is a tree; gates turn it into the DAG).
export type AssetStatus = "completed" | "partial" | "failed" | "skipped";

/**
 * The job at the bottom of a failure chain and its own reason. A parent failed by a required child only
 * says "child <key> failed"; this is the job that actually broke.
 */
export interface FailureCause {
  reason: string;
  queue: string;
  jobId: string;
}

export interface StrategySummary {
  signalId: number;
  /** dim_signals.signal_name when the summary was built (absent when the worker was not given the names). */
  name?: string;
  status: "completed" | "failed";
  /** What the strategy's chain reported: BullMQ's "child … failed" when its signal failed the backtest. */
  reason?: string;
  cause?: FailureCause;
  sharpe?: number;
  totalReturn?: number;
}

export interface AssetSummary {
  asset: string;
  status: AssetStatus;
  /** First stage (or strategy) that failed, and what it reported (a wrapper when a dependency failed it). */
  failedAt?: string;
  reason?: string;
  /** Root cause of that failure. */
  cause?: FailureCause;
  strategies?: StrategySummary[];
  quality?: { score: number; status: string };
}

/** "ema_9_21 (#1)"; "#1" when the name is not known. */
export const strategyLabel = (s: Pick<StrategySummary, "signalId" | "name">): string => (s.name ? `${s.name} (#${s.signalId})` : `#${s.signalId}`);

/** The step a failed strategy is reported at: "strategy ema_9_21 (#1)". */
export const strategyStep = (s: Pick<StrategySummary, "signalId" | "name">): string => `strategy ${strategyLabel(s)}`;

/** Why something failed, root cause first with the job it happened in; the reported reason when no cause was found. */
export const failureText = (x: { reason?: string; cause?: FailureCause }): string =>
  x.cause ? `${x.cause.reason} (job ${x.cause.queue}/${x.cause.jobId})` : (x.reason ?? "");

export interface RunSummary {
  runId: string;
  asOf: string;
  status: "completed" | "partial" | "failed";
  assets: AssetSummary[];
}

const rerun = z.number().int().min(1).optional();

const schema = z.discriminatedUnion("node", [
  // The run root carries its rerun number too: its children's job ids depend on it.
  z.strictObject({ node: z.literal("run"), runId, asOf: isoDate, assets: z.array(symbol).min(1).max(500), rerun }),
  z.strictObject({ node: z.literal("asset"), runId, asOf: isoDate, asset: symbol, rerun }),
  z.strictObject({
    node: z.literal("gate"),
    gate: z.enum(["indicators", "strategies"]),
    runId,
    asOf: isoDate,
    asset: symbol,
    rerun,
    /** Set by the gate itself once its dependants are added. */
    step: z.enum(["start", "waiting"]).default("start"),
    /** Set by the strategies gate with its step: the strategies (signal ids) it added, so it reads their outcomes by job id. */
    signalIds: z.array(z.number().int().positive()).max(1_000).optional(),
  }),
]);

export const flowKind = defineKind<"flow", typeof schema, RunSummary | AssetSummary | { added: number }>({
  name: "flow",
  schema,
  jobName: (p) => (p.node === "gate" ? `gate-${p.gate}` : p.node),
  jobId: (p) => {
    switch (p.node) {
      case "run":
        return `run.${p.runId}`;
      case "asset":
        return `asset.${p.asset}.${p.asOf}${rerunSuffix(p.rerun)}`;
      case "gate":
        return `gate.${p.gate}.${p.asset}.${p.asOf}${rerunSuffix(p.rerun)}`;
    }
  },
  // Orchestration only reads Redis; a failure here is a bug or an outage, not worth many attempts.
  jobOptions: { ...BASE_JOB_OPTIONS, attempts: 2 },
  timeoutMs: 60_000,
  tracing: { slowMs: 10_000 },
  spanAttributes: (p) => ({ "flow.node": p.node, "run.id": p.runId, ...("asset" in p ? { asset: p.asset } : {}), ...(p.node === "gate" ? { "flow.gate": p.gate } : {}) }),
});
