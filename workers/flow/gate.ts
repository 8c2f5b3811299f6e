// A gate runs once its subtree is done, adds its dependants as its own children, parks in
// waiting-children, and resumes when they finish. Re-running the first step after a crash is safe:
// the children have deterministic ids and the same parent, so BullMQ ignores the duplicates.
import { WaitingChildrenError } from "bullmq";
import type { FlowJob } from "bullmq";
import type { Fleet } from "../../queues/fleet.ts";
import { indicatorChildren, strategyChildren, strategyJobId, type RunKey } from "../../queues/flows/daily-refresh.ts";
import type { flowKind } from "../../queues/registry.ts";
import type { PayloadOf } from "../../queues/kind.ts";
import type { StrategySummary } from "../../queues/kinds/flow.ts";
import type { JobContext } from "../runtime.ts";
import { childOutcomes, rootCause } from "./children.ts";

type GatePayload = Extract<PayloadOf<typeof flowKind>, { node: "gate" }>;

export interface GateDeps {
  fleet: Fleet;
  /** Active strategy configurations (signal ids). */
  activeSignalIds: () => Promise<number[]>;
  /** dim_signals names by id, so every consumer of the summaries shows names; without it strategies are shown by id. */
  signalNames?: (ids: readonly number[]) => Promise<ReadonlyMap<number, string>>;
}

export async function runGate(p: GatePayload, ctx: JobContext, deps: GateDeps) {
  const { job, token } = ctx;
  const k: RunKey = { asOf: p.asOf, runId: p.runId, ...(p.rerun ? { rerun: p.rerun } : {}), parent: ctx.trace };
  // The strategies it adds are read once, at the first step, and kept on the gate for when it resumes.
  const signalIds = p.step === "start" && p.gate === "strategies" ? await deps.activeSignalIds() : (p.signalIds ?? []);
  if (p.step === "start") {
    const children: FlowJob[] = p.gate === "indicators" ? indicatorChildren(deps.fleet, p.asset, k) : strategyChildren(deps.fleet, p.asset, k, signalIds);
    const parent = { id: job.id!, queue: job.queueQualifiedName };
    if (children.length) {
      await deps.fleet.flowProducer().addBulk(children.map((c) => ({ ...c, opts: { ...c.opts, parent } })));
    }
    await job.updateData({ ...job.data, step: "waiting", ...(p.gate === "strategies" ? { signalIds } : {}) });
    if (await job.moveToWaitingChildren(token)) throw new WaitingChildrenError();
  }
  const outcomes = await childOutcomes(job);
  if (p.gate === "indicators") return { added: outcomes.length };
  // The gate's own subtree (quality) is a child too; the strategies are the backtest chains it added, found
  // by the job ids their kind gives them.
  const byId = new Map(outcomes.map((o) => [o.id, o]));
  const names = (await deps.signalNames?.(signalIds)) ?? new Map<number, string>();
  const strategies: StrategySummary[] = await Promise.all(
    signalIds.map(async (signalId): Promise<StrategySummary> => {
      // An unknown name stays undefined, which the JSON of the job's result leaves out.
      const base = { signalId, name: names.get(signalId) };
      const o = byId.get(strategyJobId(signalId, p.asset, k));
      if (o?.ok) return { ...base, status: "completed", ...pickFigures(o.value) };
      if (!o) return { ...base, status: "failed", reason: "no outcome recorded" };
      return { ...base, status: "failed", reason: o.reason!, cause: await rootCause(deps.fleet, o, o.reason!) };
    }),
  );
  return { added: strategies.length, strategies };
}

function pickFigures(value: unknown): { sharpe?: number; totalReturn?: number } {
  const v = value as { sharpe?: number; totalReturn?: number } | undefined;
  return { ...(typeof v?.sharpe === "number" ? { sharpe: v.sharpe } : {}), ...(typeof v?.totalReturn === "number" ? { totalReturn: v.totalReturn } : {}) };
}
