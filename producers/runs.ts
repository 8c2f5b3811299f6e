// Which daily-refresh run a request means on a day that may have run already, for the CLI and the main job.
// Reruns are numbered per day and asset (job ids end in `.r<n>`, queues/flows/daily-refresh.ts). A number is
// free for an asset set when Redis holds neither that run's root nor any of its assets under the number, and
// the workflow table has no record of that run: completed runs leave Redis after 7 days, and reusing their
// number would file a second run under the first one's record.
import type { Pool } from "../db/pool.ts";
import { workflowStates, type WorkflowState, type WorkflowStatus } from "../db/repos/workflow.ts";
import type { Fleet } from "../queues/fleet.ts";
import { runKey, runSlot } from "../queues/flows/daily-refresh.ts";
import type { AssetStatus, RunSummary } from "../queues/kinds/flow.ts";

/** The highest rerun number `--rerun` accepts. */
export const MAX_RERUN = 999;

type Db = Pick<Pool, "query">;

/** The lowest free rerun number of `asOf` for `assets`; without `db`, Redis alone decides. */
export async function nextFreeRerun(fleet: Fleet, db: Db | undefined, assets: readonly string[], asOf: string): Promise<number> {
  const numbers = Array.from({ length: MAX_RERUN }, (_, i) => i + 1);
  const recorded = db ? await workflowStates(db, numbers.map((n) => runKey(asOf, assets, n).runId)) : new Map<string, WorkflowState>();
  for (const n of numbers) {
    if (recorded.has(runKey(asOf, assets, n).runId)) continue;
    const slot = await runSlot(fleet, assets, asOf, n);
    if (!slot.root && !slot.taken) return n;
  }
  throw new Error(`no free rerun number for ${assets.join(", ")} as of ${asOf}: 1..${MAX_RERUN} are all taken`);
}

/** A run that exists already: its root in Redis, or (its jobs gone from Redis) its workflow record. */
export type ExistingRun =
  | { runId: string; rootJobId: string; in: "redis"; state: string; summary?: RunSummary }
  | { runId: string; rootJobId: string; in: "workflow"; status: WorkflowStatus; summary?: RunSummary };

export interface RunLookup {
  runId: string;
  rootJobId: string;
  existing?: ExistingRun;
  /** An asset another run of that day already holds under this rerun number: this run cannot be added. */
  taken?: { asset: string; runId: string };
}

const FINAL: ReadonlySet<WorkflowStatus> = new Set(["completed", "partial", "failed"]);

/** What holds rerun `rerun` (none: the day's first run) of `asOf` for `assets`. */
export async function findRun(fleet: Fleet, db: Db | undefined, assets: readonly string[], asOf: string, rerun?: number): Promise<RunLookup> {
  const slot = await runSlot(fleet, assets, asOf, rerun);
  const ids = { runId: slot.runId, rootJobId: slot.rootJobId };
  if (slot.root) {
    const state = await slot.root.getState();
    const summary = state === "completed" ? (slot.root.returnvalue as RunSummary) : undefined;
    return { ...ids, existing: { ...ids, in: "redis", state, ...(summary ? { summary } : {}) } };
  }
  if (slot.taken) return { ...ids, taken: slot.taken };
  const record = db ? (await workflowStates(db, [slot.runId])).get(slot.runId) : undefined;
  if (!record) return ids;
  // The run root's final transition records each asset's status (workers/workflow-hooks.ts).
  const perAsset = record.metadata.assets;
  const assetRows = perAsset && typeof perAsset === "object" && !Array.isArray(perAsset) ? Object.entries(perAsset as Record<string, AssetStatus>).map(([asset, status]) => ({ asset, status })) : [];
  const summary: RunSummary | undefined = FINAL.has(record.status) ? { runId: slot.runId, asOf, status: record.status as RunSummary["status"], assets: assetRows } : undefined;
  return { ...ids, existing: { ...ids, in: "workflow", status: record.status, ...(summary ? { summary } : {}) } };
}

/** How an existing run stands, in words: "2022-11-15 already ran (run 2022-11-15-1a2b3c4d, completed)". */
export function describeExisting(e: ExistingRun, asOf: string): string {
  const id = `run ${e.runId}`;
  if (e.in === "redis") {
    if (e.summary) return `${asOf} already ran (${id}, ${e.summary.status})`;
    return e.state === "failed" ? `${asOf} already ran (${id}, failed)` : `${asOf} is already under way (${id}, ${e.state})`;
  }
  return e.summary ? `${asOf} already ran (${id}, ${e.status}; recorded in the workflow table, its jobs have left Redis)` : `${asOf} was recorded (${id}, ${e.status}), but its jobs are gone from Redis`;
}

/** Whether the existing run's outcome can be shown (waited for): not for a record whose jobs are gone. */
export const hasOutcome = (e: ExistingRun) => e.in === "redis" || e.summary !== undefined;

/** Whether the existing run has finished (its outcome is there to show, nothing to wait for). */
export const isFinished = (e: ExistingRun) => (e.in === "redis" ? e.summary !== undefined || e.state === "failed" : e.summary !== undefined);
