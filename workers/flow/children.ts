// Fan-in: what became of a parent's children, from the values BullMQ kept (completed) and the failures
// it recorded for tolerated edges; and, for a failure, the job that caused it.
import { Job } from "bullmq";
import type { Fleet } from "../../queues/fleet.ts";
import type { FailureCause } from "../../queues/kinds/flow.ts";
import { isKindName } from "../../queues/registry.ts";

export interface ChildOutcome {
  /** Job id (without prefix and queue). */
  id: string;
  queue: string;
  ok: boolean;
  value?: unknown;
  reason?: string;
}

// Keys look like "<prefix>:<queue>:<jobId>"; the prefix itself may contain ':' only inside {…}.
function splitKey(key: string): { queue: string; id: string } {
  const parts = key.split(":");
  return { id: parts.at(-1)!, queue: parts.at(-2)! };
}

export async function childOutcomes(job: Job): Promise<ChildOutcome[]> {
  const [values, failures] = await Promise.all([job.getChildrenValues(), job.getIgnoredChildrenFailures()]);
  const out: ChildOutcome[] = [];
  for (const [key, value] of Object.entries(values)) out.push({ ...splitKey(key), ok: true, value });
  for (const [key, reason] of Object.entries(failures)) out.push({ ...splitKey(key), ok: false, reason: String(reason) });
  return out.sort((a, b) => a.id.localeCompare(b.id));
}

// A run's longest chain (strategies gate → quality → features → indicators gate → ema) has 5 links; the
// bound only stops a malformed tree from looping.
const MAX_CHAIN = 20;

const load = (fleet: Fleet, queue: string, id: string) => (isKindName(queue) ? Job.fromId(fleet.queueByName(queue), id) : Promise.resolve(undefined));

/**
 * The root cause of failed job `from` (`reason`: what was reported for it, used if the job is gone). A
 * parent that a required child failed (failParentOnFailure) only says "child <key> failed"; BullMQ keeps
 * such children in the order they failed, so the first is followed down to the job that failed on its own.
 * A child no longer in Redis ends the walk at its parent.
 */
export async function rootCause(fleet: Fleet, from: { queue: string; id: string }, reason: string): Promise<FailureCause> {
  let job = await load(fleet, from.queue, from.id);
  let cause: FailureCause = { reason: job?.failedReason || reason, queue: from.queue, jobId: from.id };
  for (let depth = 0; job && depth < MAX_CHAIN; depth++) {
    const [key] = (await job.getDependencies({ failed: { count: 1 } })).failed ?? [];
    if (!key) break;
    const child = splitKey(key);
    job = await load(fleet, child.queue, child.id);
    if (job) cause = { reason: job.failedReason || cause.reason, queue: child.queue, jobId: child.id };
  }
  return cause;
}
