// The per-asset summary: runs whatever happened below it (tolerated edge) and reports completed,
// partial (some strategies failed), failed at the first failing step, or skipped (no data as of the day);
// a failure carries its root cause (the job that broke, below the steps it failed).
import { Job, type Queue } from "bullmq";
import type { Fleet } from "../../queues/fleet.ts";
import { assetJobIds } from "../../queues/flows/daily-refresh.ts";
import type { PayloadOf } from "../../queues/kind.ts";
import { strategyStep, type AssetSummary } from "../../queues/kinds/flow.ts";
import { flowKind, stageKind } from "../../queues/registry.ts";
import type { JobContext } from "../runtime.ts";
import { childOutcomes, rootCause } from "./children.ts";

type AssetPayload = Extract<PayloadOf<typeof flowKind>, { node: "asset" }>;

export async function summariseAsset(p: AssetPayload, ctx: JobContext, fleet: Fleet): Promise<AssetSummary> {
  const [gate] = await childOutcomes(ctx.job);
  const steps = assetJobIds(p.asset, p);
  const queues: Record<string, Queue> = { [stageKind.name]: fleet.queue(stageKind), [flowKind.name]: fleet.queue(flowKind) };
  if (gate?.ok) {
    const value = gate.value as { strategies?: AssetSummary["strategies"] };
    const strategies = value.strategies ?? [];
    const ema = await Job.fromId(queues[stageKind.name]!, steps.find((s) => s.step === "ema")!.id);
    if ((ema?.returnvalue as { details?: { skipped?: string } } | undefined)?.details?.skipped) {
      return { asset: p.asset, status: "skipped", reason: String((ema!.returnvalue as { details: { skipped: string } }).details.skipped) };
    }
    const failed = strategies.find((s) => s.status === "failed");
    const quality = await Job.fromId(queues[stageKind.name]!, steps.find((s) => s.step === "quality")!.id);
    const q = (quality?.returnvalue as { details?: { score?: number; status?: string } } | undefined)?.details;
    return {
      asset: p.asset,
      ...(typeof q?.score === "number" ? { quality: { score: q.score, status: String(q.status) } } : {}),
      status: failed ? "partial" : "completed",
      ...(failed ? { failedAt: strategyStep(failed), reason: failed.reason, cause: failed.cause } : {}),
      strategies,
    };
  }
  // Walk the asset's jobs in dependency order: the first failed one is where the asset broke.
  for (const step of steps) {
    const job = await Job.fromId(queues[step.queue]!, step.id);
    if (job && (await job.isFailed())) {
      return { asset: p.asset, status: "failed", failedAt: step.step, reason: job.failedReason, cause: await rootCause(fleet, step, job.failedReason) };
    }
  }
  if (!gate) return { asset: p.asset, status: "failed", failedAt: "strategies", reason: "the asset's subtree did not complete" };
  return { asset: p.asset, status: "failed", failedAt: "strategies", reason: gate.reason!, cause: await rootCause(fleet, gate, gate.reason!) };
}
