// Everything a process that runs jobs needs for observability: tracing + metrics (apps/observability.ts),
// the job hooks over them, and the workflow-state recorder. close() flushes in dependency order.
import { exportErrorHandler, startObservability, type Observability, type ObservabilityOptions } from "../observability.ts";
import type { JobHooks } from "../../workers/hooks.ts";
import { samplingPlan, type SamplingPlan } from "../../workers/sampling.ts";
import { telemetryHooks } from "../../workers/telemetry-hooks.ts";
import { workflowRecorder } from "../../workers/workflow-hooks.ts";

export interface WorkerObservability {
  obs: Observability;
  hooks: JobHooks;
  /** Call after the workers closed: their last spans, metrics and transitions get written. Idempotent. */
  close(): Promise<void>;
}

/** `sampling`: the plan already checked at start-up; default: the one TRACE_SAMPLING describes. */
export function startWorkerObservability(opts: ObservabilityOptions & { sampling?: SamplingPlan }): WorkerObservability {
  const obs = startObservability(opts);
  const workflow = workflowRecorder(obs.pool, { onError: exportErrorHandler(opts.log, opts.deps, "workflow state write") });
  const dropped = obs.metrics.gauge("telemetry_dropped", { what: "workflow_events" });
  obs.metrics.beforeFlush(() => dropped.set(workflow.stats().dropped));
  let closing: Promise<void> | undefined;
  return {
    obs,
    hooks: telemetryHooks({ tracer: obs.telemetry.tracer, metrics: obs.metrics, workflow, sampling: opts.sampling ?? samplingPlan(opts.cfg.TRACE_SAMPLING) }),
    close: () =>
      (closing ??= (async () => {
        await workflow.close(5_000);
        const lostEvents = workflow.stats().dropped;
        if (lostEvents) opts.log.warn({ workflowEvents: lostEvents }, "workflow events dropped (buffer full or PostgreSQL unreachable at shutdown)");
        await obs.close();
      })()),
  };
}
