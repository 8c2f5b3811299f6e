import { z } from "zod";
import { BASE_JOB_OPTIONS, defineKind } from "../kind.ts";

export interface LlmResult {
  taskId: string;
  provider: string;
  model: string;
  text: string;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
}

const schema = z.strictObject({
  taskId: z.string().regex(/^[a-z]+_\d{8}_[0-9a-f]{8}$/, "must look like {provider}_{yyyymmdd}_{uuid8}"),
  prompt: z.string().min(1).max(200_000),
  system: z.string().max(50_000).optional(),
  provider: z.string().regex(/^[a-z0-9_-]{1,32}$/).optional(),
  maxOutputTokens: z.number().int().min(1).max(64_000).default(1_024),
  deadline: z.iso.datetime().optional(),
  chainId: z.string().max(64).optional(),
  parentTaskId: z.string().max(64).optional(),
  handoffId: z.string().max(64).optional(),
});

export const llmKind = defineKind<"llm", typeof schema, LlmResult>({
  name: "llm",
  schema,
  jobName: () => "llm-task",
  jobId: (p) => `llm.${p.taskId}`,
  // Provider-level retries with backoff live in the LLM layer; the job retries only what that layer gives up on.
  jobOptions: { ...BASE_JOB_OPTIONS, attempts: 5, backoff: { type: "exponential", delay: 1_000, jitter: 0.5 } },
  timeoutMs: 5 * 60_000,
});
