// The job hooks the queue benchmark runs the fleet side with: the production ones — spans exported to
// observability.spans and per-job metrics written to observability.metrics — in the benchmark's own
// PostgreSQL database (bench/env.ts), once at the default sampling (TRACE_SAMPLING as configured, else the
// kinds' declarations) and once with every trace sampled, over the same telemetry pipeline.
import { config } from "../ops/config.ts";
import { createLogger } from "../ops/logger.ts";
import type { Pool } from "../db/pool.ts";
import type { JobHooks } from "../workers/hooks.ts";
import { samplingPlan } from "../workers/sampling.ts";
import { telemetryHooks } from "../workers/telemetry-hooks.ts";
import { startWorkerObservability } from "../apps/worker/observability.ts";
import { benchEnv } from "./env.ts";

export interface BenchHooks {
  /** Default sampling. */
  hooks: JobHooks;
  /** Every trace sampled. */
  full: JobHooks;
  /** The bench database (the spans' and metrics' server). */
  pool: Pool;
  description: string;
  spansWritten(): number;
  /** Resolves when the spans and metrics recorded so far are written; throws when they cannot be. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

export async function benchHooks(): Promise<BenchHooks> {
  const env = await benchEnv("queue");
  const log = createLogger({ service: "bench", level: "warn", pretty: false });
  const t = startWorkerObservability({ service: "bench", cfg: config(), log, databaseUrl: env.databaseUrl, redisUrl: env.redisUrl });
  let closed = false;
  return {
    hooks: t.hooks,
    full: telemetryHooks({ tracer: t.obs.telemetry.tracer, metrics: t.obs.metrics, sampling: samplingPlan({ "*": 1 }) }),
    pool: env.pool,
    // Read after close(): what was really exported during the run.
    get description() {
      const spans = t.obs.telemetry.stats();
      const rows = t.obs.metrics.stats();
      return `tracing + metrics to PostgreSQL${closed ? "" : " (still running)"}: spans written ${spans?.written ?? 0}, dropped ${spans?.dropped ?? 0}; metric rows written ${rows.written}, dropped ${rows.dropped}`;
    },
    spansWritten: () => t.obs.telemetry.stats()?.written ?? 0,
    // Each flush is bounded (5 s); a backlog bigger than that (a 100 % round on a busy machine) takes several.
    flush: async () => {
      const pending = () => (t.obs.telemetry.stats()?.pending ?? 0) + t.obs.metrics.stats().pending;
      const deadline = Date.now() + 60_000;
      do await Promise.all([t.obs.telemetry.forceFlush(), t.obs.metrics.flush()]);
      while (pending() > 0 && Date.now() < deadline);
      if (pending() > 0) throw new Error(`bench telemetry not written after 60 s: ${pending()} spans and metric rows pending (${t.obs.telemetry.stats()?.lastError ?? t.obs.metrics.stats().lastError ?? "no error"})`);
    },
    close: async () => {
      await t.close();
      await env.close();
      closed = true;
    },
  };
}
