// Tracing and metrics for one process, both exporting to PostgreSQL through a small pool of their own
// (exports never wait behind job queries, and a stuck export cannot starve jobs of connections).
import { createPool, poolCloser, type Pool } from "../db/pool.ts";
import { insertMetrics } from "../db/repos/metrics.ts";
import { SECRET_KEYS, type Config, type RedisTopology } from "../ops/config.ts";
import type { Logger } from "../ops/logger.ts";
import { MetricsCollector } from "../ops/metrics/collector.ts";
import type { DependencyMonitor } from "../ops/outage.ts";
import { initTelemetry, type Telemetry } from "../ops/telemetry.ts";
import { isDataError } from "../ops/bounded-writer.ts";

export interface Observability {
  telemetry: Telemetry;
  metrics: MetricsCollector;
  /** The exporters' pool (workflow state is written through it too). */
  pool: Pool;
  /** Flushes metrics and spans (bounded), then ends the pool. Idempotent. */
  close(): Promise<void>;
}

export interface ObservabilityOptions {
  service: string;
  cfg: Config;
  log: Logger;
  databaseUrl: string;
  /** A URL is a secret of its own; a topology's passwords are config keys in SECRET_KEYS already. */
  redisUrl?: RedisTopology;
  flushMs?: number;
  /** The process's dependency monitor: a PostgreSQL outage is logged there once, not by every exporter. */
  deps?: DependencyMonitor;
}

/** An exporter's error handler: through the monitor when there is one (an outage is one line per process). */
export function exportErrorHandler(log: Logger, deps: DependencyMonitor | undefined, what: string): (err: Error) => void {
  return (err) => (deps ? deps.report(err, what) : log.warn({ err: err.message }, `${what} failing; buffering (bounded) and retrying`));
}

/** Secret values of this process's config, so that none of them is ever stored in a span. */
export function secretValues(cfg: Config, ...more: Array<string | undefined>): string[] {
  const values = [...SECRET_KEYS].map((k) => (cfg as Record<string, unknown>)[k]).concat(more);
  return values.filter((v): v is string => typeof v === "string" && v.length > 0);
}

export function startObservability(opts: ObservabilityOptions): Observability {
  const { service, log } = opts;
  const pool = createPool(opts.databaseUrl, {
    max: 2,
    applicationName: `ta-fleet:${service}:telemetry`,
    statementTimeoutMs: 10_000,
    onError: exportErrorHandler(log, opts.deps, "telemetry PostgreSQL client"),
  });
  const telemetry = initTelemetry({
    service,
    db: pool,
    secrets: secretValues(opts.cfg, opts.databaseUrl, typeof opts.redisUrl === "string" ? opts.redisUrl : undefined),
    onExportError: exportErrorHandler(log, opts.deps, "span export"),
  });
  const metrics = new MetricsCollector({
    component: service,
    write: (rows) => insertMetrics(pool, rows),
    isPermanent: isDataError,
    ...(opts.flushMs ? { flushMs: opts.flushMs } : {}),
    onError: exportErrorHandler(log, opts.deps, "metrics export"),
  });
  // Each process reports its own losses: a gap in the data is visible as a number, not a guess.
  const spansDropped = metrics.gauge("telemetry_dropped", { what: "spans" });
  const rowsDropped = metrics.gauge("telemetry_dropped", { what: "metric_rows" });
  metrics.beforeFlush(() => {
    spansDropped.set(telemetry.stats()?.dropped ?? 0);
    rowsDropped.set(metrics.stats().dropped);
  });
  let closing: Promise<void> | undefined;
  return {
    telemetry,
    metrics,
    pool,
    close: () =>
      (closing ??= (async () => {
        await Promise.allSettled([metrics.close(5_000), telemetry.shutdown()]);
        await poolCloser(pool)();
        // What could not be written before the deadline is gone with the process: say how much.
        const lost = { spans: telemetry.stats()?.dropped ?? 0, metricRows: metrics.stats().dropped };
        if (lost.spans || lost.metricRows) log.warn(lost, "telemetry dropped (buffer full or PostgreSQL unreachable at shutdown)");
      })()),
  };
}
