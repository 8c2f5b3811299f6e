import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { enqueue } from "../../queues/enqueue.ts";
import { parsePayload } from "../../queues/kind.ts";
import { newTaskId, type LlmBatchResult } from "../../queues/kinds/llm.ts";
import { llmKind } from "../../queues/registry.ts";
import { waitForJob } from "../progress.ts";
import { positiveSeconds, UsageError, type Command } from "./command.ts";

export const llmBatchCommand: Command = {
  name: "llm-batch",
  summary: "LLM tasks from a JSON file as one flow: results come back in task order.",
  help: `      <tasks.json>           Array of {"prompt", "system"?, "provider"?, "maxOutputTokens"?, "stream"?}
      --max-concurrency N    At most N tasks at once (default LLM_BATCH_MAX_CONCURRENCY); fewer when
                             quota is short: min(N, available quota / 2), at least 1
      --id ID                Batch id (default: a new one)
      --deadline ISO         Tasks fail instead of waiting for quota past this instant
      --wait                 Wait for every task and print the results in order
      --timeout S            With --wait: give up after S seconds (default 900)`,
  options: {
    "max-concurrency": { type: "string" },
    id: { type: "string" },
    deadline: { type: "string" },
    wait: { type: "boolean", default: false },
    timeout: { type: "string" },
  },
  positionals: true,
  prepare(values, positionals, cfg) {
    const file = positionals[0];
    if (!file || positionals.length > 1) throw new UsageError("expects exactly one tasks file (JSON array of tasks)");
    let tasks: unknown;
    try {
      tasks = JSON.parse(readFileSync(file, "utf8"));
    } catch (err) {
      throw new UsageError(`${file}: ${(err as Error).message}`);
    }
    if (!Array.isArray(tasks)) throw new UsageError(`${file}: must be a JSON array of tasks (got ${typeof tasks})`);
    const max = values["max-concurrency"] === undefined ? cfg.LLM_BATCH_MAX_CONCURRENCY : Number(values["max-concurrency"]);
    const batchId = (values.id as string | undefined) ?? `batch-${new Date().toISOString().slice(0, 10).replaceAll("-", "")}-${randomUUID().slice(0, 8)}`;
    const payload = parsePayload(llmKind, {
      node: "batch",
      batchId,
      tasks: tasks.map((t: unknown) => (t && typeof t === "object" ? { ...t, taskId: newTaskId((t as { provider?: string }).provider) } : t)),
      maxConcurrency: max,
      ...(values.deadline !== undefined ? { deadline: values.deadline } : {}),
    });
    const timeoutS = positiveSeconds("--timeout", values.timeout, 900);
    return async (ctx) => {
      const fleet = await ctx.fleet();
      const job = await enqueue(fleet, llmKind, payload, {}, await ctx.trace());
      ctx.out.write(`enqueued LLM batch ${batchId} (${tasks.length} tasks) as job ${job.id}\n`);
      if (!values.wait) return 0;
      const r = await waitForJob(fleet.queue(llmKind), job.id!, `LLM batch ${batchId}`, { timeoutMs: timeoutS * 1000, intervalMs: 100, signal: ctx.signal });
      if (r.state === "failed") {
        ctx.out.write(`failed: ${r.job.failedReason}\n`);
        return 1;
      }
      const { results } = r.job.returnvalue as LlmBatchResult;
      for (const e of results) {
        const detail = e.status === "completed" ? `${e.provider}: ${(e.text ?? "").replace(/\s+/g, " ").slice(0, 100)}` : e.reason;
        ctx.out.write(`[${e.index}] ${e.taskId} ${e.status} ${detail}\n`);
      }
      return results.every((e) => e.status === "completed") ? 0 : 1;
    };
  },
};
