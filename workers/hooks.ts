// The runtime's seam for tracing and metrics: called on every job, so implementations must be cheap
// and must never throw into the job (the runtime guards them anyway).
import type { Job } from "bullmq";
import type { Context } from "@opentelemetry/api";

export type JobOutcome = "completed" | "failed" | "retrying" | "delayed" | "rate-limited" | "waiting-children";

export interface JobObservation {
  /** Context to run the processor in (carries the job's span when tracing is on). */
  context?: Context;
  traceId?: string;
  end(outcome: JobOutcome, info: { error?: unknown; result?: unknown; attributes?: Record<string, unknown> }): void;
}

export type SpanAttributes = Record<string, string | number | boolean>;

export interface JobHooks {
  /** `attributes` builds the job's span attributes (a new object per call): called only when they are used. */
  onJobStart(job: Job, kind: string, attributes: () => SpanAttributes): JobObservation;
}

export const NOOP_HOOKS: JobHooks = {
  onJobStart: () => ({
    end: () => {
      // No hooks: nothing records the outcome.
    },
  }),
};
