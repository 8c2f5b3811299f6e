// Daily-refresh runs as BullMQ sees them: the flow queue's run roots with their per-asset summaries.
import type { Job } from "bullmq";
import type { Fleet } from "../../../queues/fleet.ts";
import type { RunSummary } from "../../../queues/kinds/flow.ts";
import { flowKind } from "../../../queues/registry.ts";

const STATES = ["active", "waiting-children", "waiting", "prioritized", "delayed", "completed", "failed"] as const;
// Run roots are a small share of the flow queue; ids are scanned (cheap) and only roots are loaded.
const ID_SCAN = 2_000;

/** flowKind.jobId of a run root. */
export const runRootJobId = (runId: string) => `run.${runId}`;
/** Span name of a run root's job ("<queue> <job name>", workers/telemetry-hooks.ts). */
export const RUN_SPAN_NAME = `${flowKind.name} run`;

export interface RunJobView {
  runId: string;
  jobId: string;
  asOf: string;
  assets: string[];
  state: string;
  summary?: RunSummary;
  failedReason?: string;
  createdAt: number;
  startedAt?: number;
  finishedAt?: number;
}

async function view(job: Job): Promise<RunJobView> {
  const d = job.data as { runId: string; asOf: string; assets: string[] };
  const state = await job.getState();
  return {
    runId: d.runId,
    jobId: job.id!,
    asOf: d.asOf,
    assets: d.assets,
    state,
    ...(state === "completed" && job.returnvalue ? { summary: job.returnvalue as RunSummary } : {}),
    ...(job.failedReason ? { failedReason: job.failedReason } : {}),
    createdAt: job.timestamp,
    ...(job.processedOn ? { startedAt: job.processedOn } : {}),
    ...(job.finishedOn ? { finishedAt: job.finishedOn } : {}),
  };
}

/** The newest run roots still kept in Redis, newest first. */
export async function recentRunJobs(fleet: Fleet, limit: number): Promise<RunJobView[]> {
  const q = fleet.queue(flowKind);
  const ids = [...new Set(await q.getRanges([...STATES], 0, ID_SCAN - 1))].filter((id) => id.startsWith("run."));
  const jobs = (await Promise.all(ids.map((id) => q.getJob(id)))).filter((j): j is Job => Boolean(j) && j!.name === "run");
  jobs.sort((a, b) => b.timestamp - a.timestamp);
  return Promise.all(jobs.slice(0, limit).map(view));
}

export async function runJob(fleet: Fleet, runId: string): Promise<RunJobView | undefined> {
  const job = await fleet.queue(flowKind).getJob(runRootJobId(runId));
  return job ? view(job) : undefined;
}
