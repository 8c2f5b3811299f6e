import { createHash, randomUUID } from "node:crypto";
import { z } from "zod";
import { BASE_JOB_OPTIONS, defineKind, isoDate, runId, symbol, type SpanAttributes } from "../kind.ts";

// LLM work: a task (one prompt, routed across providers by cost tier, optionally followed by a chain of
// tasks that receive its handoff), a batch (a flow whose root adds the tasks in waves and fans their
// results back in, in task order), or a research brief (a task whose prompt is built from the database
// for one daily-refresh run; enqueued by the run root once the run is summarised, never waited on).
export interface LlmResult {
  taskId: string;
  chainId: string;
  provider: string;
  model: string;
  tier: string;
  text: string;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
  /** The next task of the chain, when this one handed off. */
  next?: { taskId: string; handoffId: string };
}

export interface LlmBatchEntry {
  index: number;
  taskId: string;
  status: "completed" | "failed";
  provider?: string;
  text?: string;
  costUsd?: number;
  reason?: string;
}

export interface LlmBatchResult {
  batchId: string;
  results: LlmBatchEntry[];
}

export interface ResearchBriefResult {
  runId: string;
  status: "completed" | "skipped";
  /** Why the brief was skipped (no provider on the worker). */
  reason?: string;
  taskId?: string;
  provider?: string;
  /** Telegram parts of the answer, and how they leave ("outbox": queued for the deliverer, alerts/deliver.ts). */
  parts?: number;
  delivery?: string;
}

export const TASK_ID = /^[a-z]+_\d{8}_[0-9a-f]{8}$/;
const taskId = z.string().regex(TASK_ID, "must look like {provider}_{yyyymmdd}_{uuid8}");
const provider = z.string().regex(/^[a-z0-9_-]{1,32}$/, "must be 1-32 lowercase letters, digits, _ -");

/** What a caller asks for; the fabric adds ids and genealogy. */
export const llmTaskSpec = z.strictObject({
  prompt: z.string().min(1).max(200_000),
  system: z.string().max(50_000).optional(),
  /** Advisory: used first when it has quota. */
  provider: provider.optional(),
  maxOutputTokens: z.number().int().min(1).max(64_000).default(1_024),
  /** Stream the answer (a cancelled stream keeps its partial output). */
  stream: z.boolean().default(false),
});
export type LlmTaskSpec = z.input<typeof llmTaskSpec>;

const deadline = z.iso.datetime({ offset: true });

const schema = z.discriminatedUnion("node", [
  llmTaskSpec.extend({
    node: z.literal("task"),
    taskId,
    /** Past this instant the task fails instead of waiting for quota. */
    deadline: deadline.optional(),
    chainId: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/).optional(),
    parentTaskId: taskId.optional(),
    handoffId: z.string().regex(/^ho_[0-9a-f]{32}$/, "must look like ho_<32 hex>").optional(),
    /** The handoff's summary, passed inline (the full context is loaded by id). */
    summary: z.string().max(500).optional(),
    /** Tasks to run after this one, each receiving the previous one's handoff. */
    then: z.array(llmTaskSpec).max(20).optional(),
  }),
  z.strictObject({
    node: z.literal("brief"),
    runId,
    asOf: isoDate,
    assets: z.array(symbol).min(1).max(500),
  }),
  z.strictObject({
    node: z.literal("batch"),
    batchId: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, "must be 1-64 letters, digits, _ . -"),
    tasks: z.array(llmTaskSpec.extend({ taskId })).min(1).max(1_000),
    maxConcurrency: z.number().int().min(1).max(100).default(10),
    deadline: deadline.optional(),
    /** Set by the batch root: how many tasks it has added so far. */
    added: z.number().int().min(0).default(0),
  }),
]);

export const llmKind = defineKind<"llm", typeof schema, LlmResult | LlmBatchResult | ResearchBriefResult>({
  name: "llm",
  schema,
  jobName: (p) => (p.node === "batch" ? "llm-batch" : p.node === "brief" ? "research-brief" : "llm-task"),
  // One brief per run: the job id is the run id's.
  jobId: (p) => (p.node === "batch" ? `llm-batch.${p.batchId}` : p.node === "brief" ? researchBriefJobId(p.runId) : `llm.${p.taskId}`),
  // Provider-level retries with backoff live in the LLM layer; the job retries only what that layer gives up on.
  jobOptions: { ...BASE_JOB_OPTIONS, attempts: 5, backoff: { type: "exponential", delay: 1_000, jitter: 0.5 } },
  timeoutMs: 5 * 60_000,
  tracing: { slowMs: 60_000 },
  spanAttributes: (p): SpanAttributes =>
    p.node === "batch"
      ? { "llm.node": p.node, "llm.batch_id": p.batchId, "llm.tasks": p.tasks.length }
      : p.node === "brief"
        ? { "llm.node": p.node, "run.id": p.runId, "llm.assets": p.assets.length }
        : { "llm.node": p.node, "llm.task_id": p.taskId, ...(p.provider ? { provider: p.provider } : {}), ...(p.chainId ? { "llm.chain_id": p.chainId } : {}) },
});

// Task ids look like {provider}_{yyyymmdd}_{uuid8}: the hinted provider (or "auto"), the UTC day, and 8 hex
// digits — random for new work, derived from the parent for chain members, so re-runs agree.
const idLabel = (provider?: string) => provider?.replace(/[^a-z]/g, "") || "auto";

export function newTaskId(provider?: string, now = new Date()): string {
  return `${idLabel(provider)}_${now.toISOString().slice(0, 10).replaceAll("-", "")}_${randomUUID().slice(0, 8)}`;
}

/** A deterministic id for the `salt` follow-up of `parentId`, on the parent's day. */
export function derivedTaskId(parentId: string, salt: string, provider?: string): string {
  const day = /_(\d{8})_/.exec(parentId)?.[1] ?? new Date().toISOString().slice(0, 10).replaceAll("-", "");
  return `${idLabel(provider)}_${day}_${createHash("sha256").update(`${parentId}:${salt}`).digest("hex").slice(0, 8)}`;
}

/** The research-brief job of a run. */
export const researchBriefJobId = (runId: string) => `research-brief.${runId}`;

/** The brief's LLM task id, from the run id: brief_{as-of yyyymmdd}_{sha256(run id)[0..8]}. */
export function researchBriefTaskId(runId: string, asOf: string): string {
  return `brief_${asOf.replaceAll("-", "")}_${createHash("sha256").update(`research-brief:${runId}`).digest("hex").slice(0, 8)}`;
}
