// Fan-in: what became of a parent's children, from the values BullMQ kept (completed) and the failures
// it recorded for tolerated edges.
import type { Job } from "bullmq";

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
