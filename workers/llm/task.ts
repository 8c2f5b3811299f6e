// One LLM task: genealogy row, handoff in, routing with fallback, output (partial when a stream is
// cancelled), handoff out to the next task of the chain. A task that already completed (its job re-run
// after a crash) returns the stored output instead of calling a provider again.
import type { Context } from "@opentelemetry/api";
import { DelayedError } from "bullmq";
import { interruptPendingCalls } from "../../db/repos/llm-ledger.ts";
import { beginTask, finishTask, type TaskRow } from "../../db/repos/llm-tasks.ts";
import { enqueue } from "../../queues/enqueue.ts";
import type { PayloadOf } from "../../queues/kind.ts";
import { derivedTaskId, llmKind, type LlmResult } from "../../queues/kinds/llm.ts";
import { PermanentError } from "../errors.ts";
import type { JobContext } from "../runtime.ts";
import type { LlmDeps } from "./deps.ts";
import { CallCancelledError } from "./errors.ts";
import { createHandoff, loadHandoff, promptWithHandoff } from "./handoff.ts";
import { streamProgress } from "./progress.ts";
import { NO_PROVIDER_MESSAGE } from "./providers/index.ts";
import { route, routeOrder } from "./router.ts";
import { estimateTokens, type ChatRequest } from "./types.ts";

export type TaskPayload = Extract<PayloadOf<typeof llmKind>, { node: "task" }>;

export async function runTask(p: TaskPayload, ctx: JobContext, deps: LlmDeps): Promise<LlmResult> {
  if (!deps.providers.length) throw new PermanentError(NO_PROVIDER_MESSAGE);
  const deadline = p.deadline ? Date.parse(p.deadline) : undefined;
  if (deadline !== undefined && Date.now() > deadline) throw new PermanentError(`deadline ${p.deadline} passed before the task could run`);
  const chainId = p.chainId ?? p.taskId;
  const row = await beginTask(deps.pool, { taskId: p.taskId, chainId, parentTaskId: p.parentTaskId, handoffId: p.handoffId });
  if (row.status === "completed") return { ...resultOf(row), ...(await handOff(p, chainId, row.output ?? "", deps, ctx.trace)) };
  // Calls a dead process left open: their cost is unknown and they are not counted.
  await interruptPendingCalls(deps.pool, p.taskId);
  const handoff = p.handoffId ? await loadHandoff(deps.pool, p.handoffId) : undefined;
  const req: ChatRequest = {
    prompt: handoff ? promptWithHandoff(handoff, p.prompt) : p.prompt,
    ...(p.system ? { system: p.system } : {}),
    maxOutputTokens: p.maxOutputTokens,
    stream: p.stream,
    signal: ctx.signal,
    ...(p.stream ? { onText: streamProgress(ctx.job) } : {}),
  };
  const estimate = estimateTokens(`${req.system ?? ""}${req.prompt}`) + req.maxOutputTokens;
  const order = routeOrder(deps.providers, deps.tierOrder, p.provider);
  if (p.provider && order[0]?.name !== p.provider) ctx.log.warn({ hint: p.provider }, "provider hint names no usable provider; routing by tier");
  const id = { taskId: p.taskId, chainId, traceId: ctx.traceId, jobId: ctx.job.id, attempt: ctx.attempt, execution: ctx.job.attemptsStarted };
  let r;
  try {
    r = await route(order, req, estimate, id, deps, { retry: deps.retry, signal: ctx.signal, ...(deadline !== undefined ? { deadline } : {}) });
  } catch (err) {
    if (err instanceof CallCancelledError) {
      await finishTask(deps.pool, p.taskId, { status: "partial", output: err.partial.text, inputTokens: err.partial.usage.inputTokens, outputTokens: err.partial.usage.outputTokens, error: err.message });
    } else if (err instanceof PermanentError || ctx.attempt >= (ctx.job.opts.attempts ?? 1)) {
      // The job will not run again: the task's row says why.
      await finishTask(deps.pool, p.taskId, { status: "failed", error: (err as Error).message });
    }
    throw err;
  }
  if (!r.ok) {
    const until = Date.now() + r.waitMs;
    if (deadline !== undefined && until > deadline) {
      const reason = `deadline ${p.deadline} passes before any provider has quota: ${r.reasons.join("; ")}`;
      await finishTask(deps.pool, p.taskId, { status: "failed", error: reason });
      throw new PermanentError(reason);
    }
    ctx.log.info({ waitMs: Math.round(r.waitMs), reasons: r.reasons }, "no provider has quota; task waits");
    // Waiting for quota is not a failure: the job goes back to the delayed set without spending an attempt.
    await ctx.job.moveToDelayed(until, ctx.token);
    throw new DelayedError();
  }
  const { provider, response, costUsd } = r;
  await finishTask(deps.pool, p.taskId, {
    status: "completed",
    provider: provider.name,
    model: provider.model,
    tier: provider.tier,
    output: response.text,
    inputTokens: response.usage.inputTokens,
    outputTokens: response.usage.outputTokens,
    costUsd,
  });
  const result: LlmResult = {
    taskId: p.taskId,
    chainId,
    provider: provider.name,
    model: provider.model,
    tier: provider.tier,
    text: response.text,
    inputTokens: response.usage.inputTokens,
    outputTokens: response.usage.outputTokens,
    costUsd,
  };
  return { ...result, ...(await handOff(p, chainId, response.text, deps, ctx.trace)) };
}

function resultOf(row: TaskRow): LlmResult {
  return {
    taskId: row.taskId,
    chainId: row.chainId,
    provider: row.provider ?? "",
    model: row.model ?? "",
    tier: row.tier ?? "",
    text: row.output ?? "",
    inputTokens: row.inputTokens,
    outputTokens: row.outputTokens,
    costUsd: row.costUsd,
  };
}

/** Stores this task's context and enqueues the next task of the chain with the handoff id and summary. */
async function handOff(p: TaskPayload, chainId: string, text: string, deps: LlmDeps, parent: Context): Promise<Pick<LlmResult, "next">> {
  const [next, ...rest] = p.then ?? [];
  if (!next) return {};
  const h = await createHandoff(deps.pool, { fromTaskId: p.taskId, chainId, context: `Prompt:\n${p.prompt}\n\nAnswer:\n${text}`, summary: text });
  const taskId = derivedTaskId(p.taskId, "next", next.provider);
  await enqueue(deps.fleet, llmKind, {
    node: "task",
    ...next,
    taskId,
    chainId,
    parentTaskId: p.taskId,
    handoffId: h.handoffId,
    summary: h.summary,
    ...(rest.length ? { then: rest } : {}),
    ...(p.deadline ? { deadline: p.deadline } : {}),
  }, {}, parent);
  return { next: { taskId, handoffId: h.handoffId } };
}
