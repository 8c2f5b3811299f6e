// A job that failed because a dependency was unreachable goes back to the delayed set without spending an
// attempt, with a capped exponential backoff, for as long as the outage tolerance allows; past it, attempts
// are spent as for any error. The outage's start travels with the job (a field of its Redis hash), so the
// tolerance holds whichever worker process picks the job up next.
import type { Job } from "bullmq";
import type { Redis } from "../queues/connection.ts";

export interface OutagePolicy {
  /** How long a job may wait out one outage before its attempts are spent again. */
  toleranceMs: number;
  /** First delay; doubled per deferral up to maxDelayMs. */
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_OUTAGE_POLICY: OutagePolicy = { toleranceMs: 600_000, baseDelayMs: 1_000, maxDelayMs: 10_000 };

// BullMQ ignores hash fields it does not know; this one is ours.
const FIELD = "ta:outage";

interface OutageRecord {
  /** When this job first met the outage (epoch ms). */
  since: number;
  /** Its latest deferral. */
  last: number;
  deferrals: number;
}

export type Deferral = { defer: true; delayMs: number; waitedMs: number; deferrals: number } | { defer: false; waitedMs: number };

/**
 * Decides (and records) whether a job hit by an outage waits without spending an attempt. A record older
 * than a few backoffs belongs to an earlier outage that the job got past: a new one starts.
 */
export async function planDeferral(redis: Redis, job: Job, policy: OutagePolicy, now = Date.now(), random = Math.random): Promise<Deferral> {
  const key = `${job.queueQualifiedName}:${job.id}`;
  const prev = parseRecord(await redis.hget(key, FIELD));
  const fresh = !prev || now - prev.last > 3 * policy.maxDelayMs + 60_000;
  const rec: OutageRecord = fresh ? { since: now, last: now, deferrals: 0 } : { ...prev, last: now };
  const waitedMs = now - rec.since;
  if (waitedMs >= policy.toleranceMs) return { defer: false, waitedMs };
  const step = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** rec.deferrals);
  // ±25 % so the jobs of one outage do not all come back in the same instant.
  const delayMs = Math.round(step * (0.75 + random() * 0.5));
  rec.deferrals++;
  await redis.hset(key, FIELD, JSON.stringify(rec));
  return { defer: true, delayMs, waitedMs, deferrals: rec.deferrals };
}

function parseRecord(raw: string | null): OutageRecord | undefined {
  if (!raw) return undefined;
  try {
    const r = JSON.parse(raw) as Partial<OutageRecord>;
    return typeof r.since === "number" && typeof r.last === "number" && typeof r.deferrals === "number" ? (r as OutageRecord) : undefined;
  } catch {
    // Unreadable: start over, as for a first outage.
    return undefined;
  }
}
