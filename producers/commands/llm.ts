import { enqueue } from "../../queues/enqueue.ts";
import { parsePayload } from "../../queues/kind.ts";
import { newTaskId, type LlmResult } from "../../queues/kinds/llm.ts";
import { llmKind } from "../../queues/registry.ts";
import { waitForJob } from "../progress.ts";
import { positiveSeconds, UsageError, type Command } from "./command.ts";

export const llmCommand: Command = {
  name: "llm",
  summary: "One LLM task, routed by cost tier (free → subscription → paid) with fallback.",
  help: `      --prompt TEXT      The task (required)
      --system TEXT      System instruction
      --provider NAME    Advisory: gemini, openai, anthropic (used first when it has quota)
      --max-tokens N     Output token limit (default 1024)
      --stream           Stream the answer (a cancelled stream keeps its partial output)
      --deadline ISO     Fail instead of waiting for quota past this instant
      --chain ID         Chain id (default: the task id)
      --then TEXT        A follow-up task that receives this one's handoff (context + summary)
      --wait             Wait for the answer and print it
      --timeout S        With --wait: give up after S seconds (default 300)`,
  options: {
    prompt: { type: "string" },
    system: { type: "string" },
    provider: { type: "string" },
    "max-tokens": { type: "string" },
    stream: { type: "boolean", default: false },
    deadline: { type: "string" },
    chain: { type: "string" },
    then: { type: "string" },
    wait: { type: "boolean", default: false },
    timeout: { type: "string" },
  },
  prepare(values) {
    if (typeof values.prompt !== "string") throw new UsageError("--prompt: required");
    const maxTokens = values["max-tokens"] === undefined ? undefined : Number(values["max-tokens"]);
    const taskId = newTaskId(values.provider as string | undefined);
    const payload = parsePayload(llmKind, {
      node: "task",
      taskId,
      prompt: values.prompt,
      stream: values.stream,
      ...(values.system !== undefined ? { system: values.system } : {}),
      ...(values.provider !== undefined ? { provider: values.provider } : {}),
      ...(maxTokens !== undefined ? { maxOutputTokens: maxTokens } : {}),
      ...(values.deadline !== undefined ? { deadline: values.deadline } : {}),
      ...(values.chain !== undefined ? { chainId: values.chain } : {}),
      ...(values.then !== undefined ? { then: [{ prompt: values.then }] } : {}),
    });
    const timeoutS = positiveSeconds("--timeout", values.timeout, 300);
    return async (ctx) => {
      const fleet = await ctx.fleet();
      const job = await enqueue(fleet, llmKind, payload, {}, await ctx.trace());
      ctx.out.write(`enqueued LLM task ${taskId} (job ${job.id})\n`);
      if (!values.wait) return 0;
      const r = await waitForJob(fleet.queue(llmKind), job.id!, `LLM task ${taskId}`, { timeoutMs: timeoutS * 1000, intervalMs: 100, signal: ctx.signal });
      if (r.state === "failed") {
        ctx.out.write(`failed: ${r.job.failedReason}\n`);
        return 1;
      }
      const v = r.job.returnvalue as LlmResult;
      ctx.out.write(`${v.provider} (${v.model}, ${v.tier}): ${v.inputTokens} in / ${v.outputTokens} out tokens, $${v.costUsd.toFixed(6)}\n${v.text}\n`);
      if (v.next) ctx.out.write(`handed off to ${v.next.taskId} (handoff ${v.next.handoffId})\n`);
      return 0;
    };
  },
};
