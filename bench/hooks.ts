// The job hooks the queue benchmark runs the fleet side with: the production ones — a span per job
// exported to observability.spans and per-job metrics written to observability.metrics — in the
// benchmark's own PostgreSQL database (bench/env.ts).
import { config } from "../ops/config.ts";
import { createLogger } from "../ops/logger.ts";
import type { JobHooks } from "../workers/hooks.ts";
import { startWorkerObservability } from "../apps/worker/observability.ts";
import { benchEnv } from "./env.ts";

export async function benchHooks(): Promise<{ hooks: JobHooks; description: string; flush(): Promise<void>; close(): Promise<void> }> {
  const env = await benchEnv("queue");
  const log = createLogger({ service: "bench", level: "warn", pretty: false });
  const t = startWorkerObservability({ service: "bench", cfg: config(), log, databaseUrl: env.databaseUrl, redisUrl: env.redisUrl });
  let closed = false;
  return {
    hooks: t.hooks,
    // Read after close(): what was really exported during the run.
    get description() {
      const spans = t.obs.telemetry.stats();
      const rows = t.obs.metrics.stats();
      return `tracing + metrics to PostgreSQL${closed ? "" : " (still running)"}: spans written ${spans?.written ?? 0}, dropped ${spans?.dropped ?? 0}; metric rows written ${rows.written}, dropped ${rows.dropped}`;
    },
    flush: async () => {
      await t.obs.telemetry.forceFlush();
    },
    close: async () => {
      await t.close();
      await env.close();
      closed = true;
    },
  };
}
