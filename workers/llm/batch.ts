// A batch is a flow: its root adds the tasks as its own children in waves of min(max, available quota / 2)
// (at least 1), parks in waiting-children, and once every task has run returns results[i] ↔ tasks[i].
// A failed task does not fail the batch (ignoreDependencyOnFailure); its entry says why.
import { WaitingChildrenError } from "bullmq";
import { flowNode } from "../../queues/enqueue.ts";
import type { PayloadOf } from "../../queues/kind.ts";
import { llmKind, type LlmBatchEntry, type LlmBatchResult, type LlmResult } from "../../queues/kinds/llm.ts";
import { childOutcomes } from "../flow/children.ts";
import type { JobContext } from "../runtime.ts";
import type { LlmDeps } from "./deps.ts";
import { routeOrder } from "./router.ts";

export type BatchPayload = Extract<PayloadOf<typeof llmKind>, { node: "batch" }>;

/** How many tasks to start together: half the calls the providers could take now, within [1, max]. */
export async function batchConcurrency(deps: LlmDeps, max: number): Promise<number> {
  const order = routeOrder(deps.providers, deps.tierOrder);
  const available = (await Promise.all(order.map((p) => deps.quota.available(p.name)))).reduce((a, b) => a + b, 0);
  return Math.max(1, Math.min(max, Math.floor(available / 2)));
}

export async function runBatch(p: BatchPayload, ctx: JobContext, deps: LlmDeps): Promise<LlmBatchResult> {
  const { job, token } = ctx;
  const parent = { id: job.id!, queue: job.queueQualifiedName };
  let added = p.added;
  while (added < p.tasks.length) {
    const size = await batchConcurrency(deps, p.maxConcurrency);
    const wave = p.tasks.slice(added, added + size);
    // Deterministic child ids: re-adding a wave after a crash is a no-op.
    const nodes = wave.map((t) => {
      const node = flowNode(deps.fleet, llmKind, { node: "task", ...t, chainId: p.batchId, ...(p.deadline ? { deadline: p.deadline } : {}) }, {}, ctx.trace);
      return { ...node, opts: { ...node.opts, parent, ignoreDependencyOnFailure: true } };
    });
    await deps.fleet.flowProducer().addBulk(nodes);
    added += wave.length;
    await job.updateData({ ...job.data, added });
    ctx.log.info({ batchId: p.batchId, wave: wave.length, added, total: p.tasks.length }, "llm batch wave added");
    if (await job.moveToWaitingChildren(token)) throw new WaitingChildrenError();
  }
  const byId = new Map((await childOutcomes(job)).map((o) => [o.id, o]));
  const results = p.tasks.map((t, index): LlmBatchEntry => {
    const o = byId.get(llmKind.jobId({ node: "task", ...t })!);
    if (o?.ok) {
      const v = o.value as LlmResult;
      return { index, taskId: t.taskId, status: "completed", provider: v.provider, text: v.text, costUsd: v.costUsd };
    }
    return { index, taskId: t.taskId, status: "failed", reason: o?.reason ?? "no outcome recorded" };
  });
  return { batchId: p.batchId, results };
}
