// --wait for LLM jobs: follow a job until it completes or fails, through the queue's events.
import { QueueEvents, type Job } from "bullmq";
import type { Fleet } from "../../queues/fleet.ts";
import { llmKind } from "../../queues/registry.ts";

export async function waitForLlmJob(fleet: Fleet, job: Job, timeoutMs: number): Promise<{ ok: true; value: unknown } | { ok: false; reason: string }> {
  const events = new QueueEvents(llmKind.name, { connection: { url: fleet.opts.redisUrl }, prefix: fleet.prefix });
  try {
    await events.waitUntilReady();
    return { ok: true, value: await job.waitUntilFinished(events, timeoutMs) };
  } catch (err) {
    return { ok: false, reason: (err as Error).message };
  } finally {
    await events.close();
  }
}
