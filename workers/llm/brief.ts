// The research brief of one daily-refresh run: the run root enqueues it once the run is summarised (never
// as a child it waits on, so nothing here can change the run's status). It builds the prompt from the
// database (templates/research-brief.ts), runs it as an ordinary LLM task (same routing, budgets, ledger
// and crash-safety as every task; the task id derives from the run id), stores the answer linked to the
// run (research_briefs) and posts it through the notifier in parts of at most 4096 characters, in order,
// resuming after the last part a chat accepted when the job re-runs.
import { DelayedError } from "bullmq";
import { latestSweeps, latestWalkForwards, positionsAsOf, qualityAsOf } from "../../db/repos/research-context.ts";
import { beginBrief, completeBrief, failBrief, getBrief, recordPartsDelivered, setBriefDelivery, type BriefRow } from "../../db/repos/research-briefs.ts";
import { DASHBOARD_PATH } from "../../alerts/links.ts";
import { logNotifier } from "../../alerts/notify.ts";
import { splitMessage } from "../../alerts/split.ts";
import { DeliveryError } from "../../alerts/telegram.ts";
import type { Fleet } from "../../queues/fleet.ts";
import type { PayloadOf } from "../../queues/kind.ts";
import type { RunSummary } from "../../queues/kinds/flow.ts";
import { researchBriefTaskId, type llmKind, type ResearchBriefResult } from "../../queues/kinds/llm.ts";
import { flowKind } from "../../queues/registry.ts";
import { PermanentError } from "../errors.ts";
import type { JobContext } from "../runtime.ts";
import type { LlmDeps } from "./deps.ts";
import { NO_PROVIDER_MESSAGE } from "./providers/index.ts";
import { runTask } from "./task.ts";
import { buildResearchBriefPrompt, RESEARCH_BRIEF_MAX_OUTPUT_TOKENS, RESEARCH_BRIEF_SYSTEM, type ResearchBriefContext } from "./templates/research-brief.ts";

export type BriefPayload = Extract<PayloadOf<typeof llmKind>, { node: "brief" }>;

/** How long a brief waits for its run root to be marked completed before looking again. */
const RUN_POLL_MS = 1_000;

/** The line logged when a brief is skipped for want of a provider. */
export const BRIEF_SKIPPED = `research brief skipped: ${NO_PROVIDER_MESSAGE}`;

export async function runBrief(p: BriefPayload, ctx: JobContext, deps: LlmDeps): Promise<ResearchBriefResult> {
  if (!deps.providers.length) {
    ctx.log.warn({ runId: p.runId }, BRIEF_SKIPPED);
    return { runId: p.runId, status: "skipped", reason: NO_PROVIDER_MESSAGE };
  }
  const taskId = researchBriefTaskId(p.runId, p.asOf);
  let brief = await getBrief(deps.pool, p.runId);
  if (brief?.status !== "completed") {
    const run = await runSummary(deps.fleet, p);
    if (!run) {
      // The run root enqueued this job right before it completes: look again shortly (no attempt spent).
      await ctx.job.moveToDelayed(Date.now() + RUN_POLL_MS, ctx.token);
      throw new DelayedError();
    }
    const prompt = buildResearchBriefPrompt(await researchContext(deps, run));
    await beginBrief(deps.pool, { runId: p.runId, asOf: p.asOf, taskId, prompt });
    let r;
    try {
      r = await runTask({ node: "task", taskId, prompt, system: RESEARCH_BRIEF_SYSTEM, maxOutputTokens: RESEARCH_BRIEF_MAX_OUTPUT_TOKENS, stream: false }, ctx, deps);
    } catch (err) {
      if (!(err instanceof DelayedError) && (err instanceof PermanentError || ctx.attempt >= (ctx.job.opts.attempts ?? 1))) await failBrief(deps.pool, p.runId, (err as Error).message);
      throw err;
    }
    await completeBrief(deps.pool, p.runId, { output: r.text, provider: r.provider, model: r.model, parts: splitMessage(briefMessage(p, r.text, deps.dashboardBase)).length });
    brief = (await getBrief(deps.pool, p.runId))!;
  }
  const delivered = await deliver(brief, p, ctx, deps);
  return { runId: p.runId, status: "completed", taskId, provider: brief.provider ?? "", parts: delivered.parts, delivery: delivered.via };
}

/** The run root's summary once it is completed; a run root that failed or is gone yields a summary saying so. */
async function runSummary(fleet: Fleet, p: BriefPayload): Promise<RunSummary | undefined> {
  const job = await fleet.queue(flowKind).getJob(`run.${p.runId}`);
  const unknown = (status: RunSummary["status"], reason: string): RunSummary => ({
    runId: p.runId,
    asOf: p.asOf,
    status,
    assets: p.assets.map((asset) => ({ asset, status: "failed", failedAt: "summary", reason })),
  });
  if (!job) return unknown("failed", "run summary no longer kept in Redis");
  const state = await job.getState();
  if (state === "completed") return job.returnvalue as RunSummary;
  if (state === "failed") return unknown("failed", `run root failed: ${job.failedReason}`);
  return undefined;
}

async function researchContext(deps: LlmDeps, run: RunSummary): Promise<ResearchBriefContext> {
  const symbols = run.assets.map((a) => a.asset);
  const [quality, positions, sweeps, walkForwards] = await Promise.all([
    qualityAsOf(deps.pool, symbols, run.asOf),
    positionsAsOf(deps.pool, symbols, run.asOf),
    latestSweeps(deps.pool, symbols),
    latestWalkForwards(deps.pool, symbols),
  ]);
  return { run, quality, positions, sweeps, walkForwards };
}

/** What the chat receives: a header with the run page's link, then the answer. */
export function briefMessage(p: Pick<BriefPayload, "runId" | "asOf">, answer: string, dashboardBase?: string): string {
  const link = dashboardBase ? `\n🔗 ${dashboardBase}${DASHBOARD_PATH}/runs/${encodeURIComponent(p.runId)}` : "";
  return `📝 Research brief · run ${p.runId} (as of ${p.asOf})${link}\n\n${answer}`;
}

/**
 * Sends the parts each chat has not accepted yet, in order, recording each one. A transient failure fails
 * the attempt (the job's retries resume after the last accepted part; the answer is not asked for again);
 * a permanent one (400/403) marks the delivery failed and leaves the brief stored.
 */
async function deliver(brief: BriefRow, p: BriefPayload, ctx: JobContext, deps: LlmDeps): Promise<{ parts: number; via: string }> {
  const notifier = deps.notifier ?? logNotifier(deps.log);
  const parts = splitMessage(briefMessage(p, brief.output ?? "", deps.dashboardBase));
  if (brief.deliveryStatus !== "pending") return { parts: parts.length, via: notifier.name };
  try {
    for (const chat of notifier.chatIds) {
      for (let i = brief.deliveredParts[chat] ?? 0; i < parts.length; i++) {
        await notifier.send(chat, parts[i]!);
        await recordPartsDelivered(deps.pool, p.runId, chat, i + 1);
      }
    }
  } catch (err) {
    const e = err instanceof DeliveryError ? err : new DeliveryError((err as Error)?.message ?? String(err), { permanent: false });
    if (e.opts.permanent) {
      await setBriefDelivery(deps.pool, p.runId, "failed", e.message);
      ctx.log.error({ runId: p.runId, err: e.message }, "research brief cannot be delivered to Telegram; kept in research_briefs");
      return { parts: parts.length, via: notifier.name };
    }
    await setBriefDelivery(deps.pool, p.runId, "pending", e.message);
    throw new Error(`research brief delivery: ${e.message}`);
  }
  await setBriefDelivery(deps.pool, p.runId, notifier.name === "log" ? "disabled" : "delivered");
  ctx.log.info({ runId: p.runId, parts: parts.length, chats: notifier.chatIds.length, via: notifier.name }, "research brief delivered");
  return { parts: parts.length, via: notifier.name };
}
