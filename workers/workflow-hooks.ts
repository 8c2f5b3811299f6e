// Workflow state from job outcomes: which finished job is which step of which flow run. The runtime's hooks
// call record(); rows are written in the background (bounded, retried), never on the job's path.
import type { Job } from "bullmq";
import { recordTransitions, WORKFLOW_TYPE, type WorkflowTransition } from "../db/repos/workflow.ts";
import { RUN_KINDS } from "../queues/flows/daily-refresh.ts";
import type { AssetSummary, RunSummary } from "../queues/kinds/flow.ts";
import { flowKind, maintenanceKind, stageKind } from "../queues/registry.ts";
import type { Pool } from "../db/pool.ts";
import { BoundedWriter, isDataError, type WriterStats } from "../ops/bounded-writer.ts";
import type { JobOutcome } from "./hooks.ts";

const RUN_QUEUES = new Set<string>(RUN_KINDS.map((k) => k.name));

type Data = Record<string, unknown>;

/** The transition a finished job attempt means for its flow run, if it belongs to one. */
/** `trace.traceId` is read only for a transition: drawing an unsampled job's ids costs, most jobs need none. */
export function workflowTransition(queue: string, job: Pick<Job, "id" | "name" | "data">, outcome: JobOutcome, result: unknown, trace: { readonly traceId?: string }, attempt: number): WorkflowTransition | undefined {
  if (outcome !== "completed" && outcome !== "failed" && outcome !== "retrying") return undefined;
  const data = job.data as Data;
  if (queue === maintenanceKind.name && job.name === "daily-refresh") {
    const r = result as { runId?: string; rootJobId?: string; created?: boolean } | undefined;
    if (outcome !== "completed" || !r?.created || !r.runId) return undefined;
    return {
      workflowId: r.runId,
      correlationId: trace.traceId ?? r.runId,
      type: WORKFLOW_TYPE,
      phase: "enqueued",
      status: "pending",
      event: "pending",
      metadata: { rootJobId: r.rootJobId, assets: data.assets },
    };
  }
  const runId = data.runId;
  if (!RUN_QUEUES.has(queue) || typeof runId !== "string") return undefined;
  const base = { workflowId: runId, correlationId: trace.traceId ?? runId, type: WORKFLOW_TYPE, eventMetadata: { jobId: job.id, attempt } };
  if (queue === flowKind.name && data.node === "run") {
    const summary = outcome === "completed" ? (result as RunSummary) : undefined;
    if (outcome === "retrying") return { ...base, phase: "done", status: "running", event: "retrying" };
    const status = summary?.status ?? "failed";
    const assets = Object.fromEntries((summary?.assets ?? []).map((a) => [a.asset, a.status]));
    return { ...base, phase: "done", status, event: status, final: true, metadata: { assets } };
  }
  const asset = String(data.asset ?? "");
  const event = queue === flowKind.name && data.node === "asset" && outcome === "completed" ? (result as AssetSummary).status : outcome;
  return { ...base, phase: `${asset}:${stepOf(queue, data)}`, status: "running", event };
}

function stepOf(queue: string, data: Data): string {
  switch (queue) {
    case stageKind.name:
      return String(data.stage);
    case flowKind.name:
      return data.node === "gate" ? `gate-${String(data.gate)}` : "summary";
    default:
      return `${queue}-${String(data.signalId ?? data.mode ?? "")}`;
  }
}

/** How much later than its job a transition may be stored: the run page polls every few seconds. */
const LINGER_MS = 200;

export interface WorkflowRecorder {
  record(t: WorkflowTransition): void;
  stats(): WriterStats;
  /** Resolves true once everything recorded so far is written. */
  flush(timeoutMs?: number): Promise<boolean>;
  close(timeoutMs?: number): Promise<void>;
}

/**
 * Writes transitions in the order this process saw them, in batches (one statement each, applied in order)
 * of what arrived within LINGER_MS: a daily refresh finishes dozens of jobs a second, and a statement per
 * transition cost more than its rows. A batch the server rejects for its data is dropped whole: transitions
 * are built here, from job outcomes, so none is expected.
 */
export function workflowRecorder(db: Pick<Pool, "query">, opts: { maxPending?: number; onError?(err: Error): void } = {}): WorkflowRecorder {
  const writer = new BoundedWriter<WorkflowTransition>({
    maxPending: opts.maxPending ?? 10_000,
    batchSize: 100,
    lingerMs: LINGER_MS,
    write: (batch) => recordTransitions(db, batch),
    isPermanent: isDataError,
    ...(opts.onError ? { onError: opts.onError } : {}),
  });
  return { record: (t) => void writer.push([t]), stats: () => writer.stats(), flush: (ms) => writer.flush(ms), close: (ms) => writer.close(ms) };
}
