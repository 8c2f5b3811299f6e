// The research brief of one daily-refresh run: the run root enqueues it once the run is summarised (never
// as a child it waits on, so nothing here can change the run's status). It builds the prompt from the
// database (templates/research-brief.ts), runs it as an ordinary LLM task (same routing, budgets, ledger
// and crash-safety as every task; the task id derives from the run id), stores the answer linked to the
// run (research_briefs) and queues it in the delivery outbox: the deliverer (alerts/deliver.ts, in the bot
// process) posts it to Telegram in parts of at most 4096 characters, in order, each part once, retrying
// through an outage. The job never waits on Telegram.
import { DelayedError } from "bullmq";
import { latestSweeps, latestWalkForwards, positionsAsOf, qualityAsOf } from "../../db/repos/research-context.ts";
import { beginBrief, completeBrief, failBrief, getBrief, queueBriefDelivery } from "../../db/repos/research-briefs.ts";
import { briefMessage } from "../../alerts/notify.ts";
import { splitMessage } from "../../alerts/split.ts";
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
  // Also when the job re-runs after a crash between storing the answer and queueing it; a delivery already
  // queued or finished is left alone, so nothing is posted twice.
  await queueBriefDelivery(deps.pool, p.runId);
  ctx.log.info({ runId: p.runId, parts: brief.parts }, "research brief stored; queued for delivery");
  return { runId: p.runId, status: "completed", taskId, provider: brief.provider ?? "", parts: brief.parts ?? 0, delivery: "outbox" };
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
