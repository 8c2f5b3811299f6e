// Kind-specific span attributes from a validated payload (asset, stage, strategy, provider, run). Never
// the payload itself: prompts and free text stay out of spans.
import type { PayloadOf } from "../queues/kind.ts";
import type { KindName, KINDS } from "../queues/registry.ts";

type Attrs = Record<string, string | number | boolean>;
type Extract = { [K in KindName]?: (p: PayloadOf<(typeof KINDS)[K]>) => Attrs };

const run = (p: { runId?: string | undefined }): Attrs => (p.runId ? { "run.id": p.runId } : {});

export const SPAN_ATTRIBUTES: Extract = {
  stage: (p) => ({ asset: p.asset, stage: p.stage, "as_of": p.asOf, ...run(p) }),
  signal: (p) => ({ asset: p.asset, "signal.id": p.signalId, ...run(p) }),
  backtest: (p): Attrs =>
    p.mode === "signal"
      ? { asset: p.asset, "backtest.mode": p.mode, "signal.id": p.signalId, ...run(p) }
      : { asset: p.asset, "backtest.mode": p.mode, strategy: p.strategy, "sweep.id": p.sweepId },
  llm: (p): Attrs =>
    p.node === "batch"
      ? { "llm.node": p.node, "llm.batch_id": p.batchId, "llm.tasks": p.tasks.length }
      : { "llm.node": p.node, "llm.task_id": p.taskId, ...(p.provider ? { provider: p.provider } : {}), ...(p.chainId ? { "llm.chain_id": p.chainId } : {}) },
  flow: (p) => ({ "flow.node": p.node, "run.id": p.runId, ...("asset" in p ? { asset: p.asset } : {}), ...(p.node === "gate" ? { "flow.gate": p.gate } : {}) }),
  // maintenance: the job name already says which task; no extra object per (frequent) job.
};

/** The `attributes` option of createWorker for `kind` (the runtime calls it with that kind's payloads). */
export function spanAttributesFor(kind: KindName): ((payload: unknown) => Attrs) | undefined {
  return SPAN_ATTRIBUTES[kind] as ((payload: unknown) => Attrs) | undefined;
}
