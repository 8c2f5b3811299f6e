// Samples every queue's depth by state (and quota usage) into the metrics collector on a timer.
import type { Queue } from "bullmq";
import type { QuotaStore } from "./quota.ts";
import type { MetricsCollector } from "../ops/metrics/collector.ts";

export const QUEUE_STATES = ["waiting", "active", "delayed", "prioritized", "waiting-children", "failed", "completed"] as const;

export interface SamplerOptions {
  queues: readonly Queue[];
  metrics: MetricsCollector;
  everyMs?: number;
  /** Quota keys whose usage is sampled too. */
  quota?: { store: QuotaStore; keys: readonly string[] };
  onError?(err: Error): void;
}

export interface Sampler {
  /** One sample now (also what the timer runs). */
  sample(): Promise<void>;
  close(): Promise<void>;
}

export function startQueueDepthSampler(opts: SamplerOptions): Sampler {
  let running: Promise<void> | undefined;
  const sample = () =>
    (running ??= (async () => {
      try {
        await Promise.all(
          opts.queues.map(async (q) => {
            const counts = await q.getJobCounts(...QUEUE_STATES);
            for (const state of QUEUE_STATES) opts.metrics.gauge("queue_jobs", { queue: q.name, state }).set(counts[state] ?? 0);
          }),
        );
        for (const key of opts.quota?.keys ?? []) {
          const u = await opts.quota!.store.usage(key);
          opts.metrics.gauge("quota_active", { key }).set(u.active);
          opts.metrics.gauge("quota_day_requests", { key }).set(u.dayRequests);
          opts.metrics.gauge("quota_day_tokens", { key }).set(u.dayTokens);
          opts.metrics.gauge("quota_window_tokens", { key }).set(u.windowTokens);
        }
      } catch (err) {
        opts.onError?.(err as Error);
      } finally {
        running = undefined;
      }
    })());
  const timer = setInterval(() => void sample(), opts.everyMs ?? 15_000).unref();
  let closing: Promise<void> | undefined;
  return {
    sample,
    close: () =>
      (closing ??= (async () => {
        clearInterval(timer);
        await running;
      })()),
  };
}
