// The run root's hand-off to the research brief: once the run is summarised it enqueues the run's
// `research-brief` llm job (job id from the run id, so a re-run root adds nothing) as a separate job, not
// a child — the run never waits on it, and nothing the brief does (or an enqueue that fails) can change
// the run's status. Without a provider the brief is skipped with one log line instead of being faked.
import { enqueue } from "../../queues/enqueue.ts";
import type { RunSummary } from "../../queues/kinds/flow.ts";
import { llmKind } from "../../queues/kinds/llm.ts";
import type { Fleet } from "../../queues/fleet.ts";
import type { JobContext } from "../runtime.ts";

export interface BriefSwitch {
  /** RESEARCH_BRIEF. */
  mode: "on" | "off";
  /** A provider key (or LLM_OFFLINE=1) is configured. */
  providersConfigured: boolean;
}

// (workers/llm imports workers/flow, so the wording of workers/llm/providers' NO_PROVIDER_MESSAGE is repeated here.)
export const BRIEF_SKIPPED_NO_PROVIDER =
  "research brief skipped: no LLM provider is configured (set GEMINI_API_KEY, OPENAI_API_KEY or ANTHROPIC_API_KEY, or LLM_OFFLINE=1 for the labelled offline provider)";

/** Never throws: the run's outcome is decided before this is called. */
export async function triggerBrief(run: RunSummary, rerun: number | undefined, ctx: Pick<JobContext, "log" | "trace">, fleet: Fleet, sw: BriefSwitch | undefined): Promise<void> {
  if (!sw || sw.mode === "off") return;
  if (!sw.providersConfigured) {
    ctx.log.warn({ runId: run.runId }, BRIEF_SKIPPED_NO_PROVIDER);
    return;
  }
  try {
    const assets = run.assets.map((a) => a.asset);
    await enqueue(fleet, llmKind, { node: "brief", runId: run.runId, asOf: run.asOf, assets }, {}, ctx.trace);
    ctx.log.info({ runId: run.runId, rerun }, "research brief enqueued");
  } catch (err) {
    ctx.log.warn({ runId: run.runId, err: (err as Error).message }, "research brief could not be enqueued; the run is unaffected");
  }
}
