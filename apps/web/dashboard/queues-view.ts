// Live queue state from Redis for the fleet overview: depths by state, workers alive, recent failures.
import type { Job, Queue } from "bullmq";
import type { Fleet } from "../../../queues/fleet.ts";
import { QUEUE_STATES } from "../../../queues/queue-depth.ts";
import { workerPlace, type WorkerPlace } from "../../../ops/health.ts";

export interface QueueView {
  queue: string;
  paused: boolean;
  counts: Record<(typeof QUEUE_STATES)[number], number>;
  failedInWindow: number;
  workers: Array<WorkerPlace & { addr: string; ageS: number; idleS: number }>;
}

/** Failed jobs finished after `since` (the failed set is scored by finish time). */
const failedSince = (fleet: Fleet, q: Queue, since: number) => fleet.redis.zcount(q.keys.failed!, since, "+inf");

export async function queueViews(fleet: Fleet, since: number): Promise<QueueView[]> {
  return Promise.all(
    fleet.allQueues().map(async (q) => {
      const [counts, paused, failedInWindow, workers] = await Promise.all([q.getJobCounts(...QUEUE_STATES), q.isPaused(), failedSince(fleet, q, since), q.getWorkers()]);
      return {
        queue: q.name,
        paused,
        counts: Object.fromEntries(QUEUE_STATES.map((s) => [s, counts[s] ?? 0])) as QueueView["counts"],
        failedInWindow,
        // BullMQ reports the queue as `name`; the worker's own name (where it runs) is in `rawname`.
        workers: workers.map((w) => ({ ...workerPlace(String(w.rawname ?? "")), addr: String(w.addr ?? ""), ageS: Number(w.age ?? 0), idleS: Number(w.idle ?? 0) })),
      };
    }),
  );
}

export interface FailureView {
  queue: string;
  jobId: string;
  name: string;
  reason: string;
  attempts: number;
  finishedOn: number;
}

const REASON_MAX = 500;

/** The newest failures of every queue after `since`, newest first, at most `limit`. */
export async function recentFailures(fleet: Fleet, since: number, limit: number): Promise<{ total: number; byQueue: Record<string, number>; recent: FailureView[] }> {
  const perQueue = await Promise.all(
    fleet.allQueues().map(async (q) => {
      const [n, jobs] = await Promise.all([failedSince(fleet, q, since), q.getJobs(["failed"], 0, limit - 1)]);
      const recent = (jobs as Array<Job | undefined>)
        .filter((j): j is Job => Boolean(j?.finishedOn && j.finishedOn >= since))
        .map((j) => ({ queue: q.name, jobId: j.id ?? "", name: j.name, reason: (j.failedReason ?? "").slice(0, REASON_MAX), attempts: j.attemptsMade, finishedOn: j.finishedOn! }));
      return { queue: q.name, n, recent };
    }),
  );
  return {
    total: perQueue.reduce((s, q) => s + q.n, 0),
    byQueue: Object.fromEntries(perQueue.map((q) => [q.queue, q.n])),
    recent: perQueue.flatMap((q) => q.recent).sort((a, b) => b.finishedOn - a.finishedOn).slice(0, limit),
  };
}
