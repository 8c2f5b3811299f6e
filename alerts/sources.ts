// What the query rules read: BullMQ queue state, the latest data-quality check per symbol, metric
// baselines, LLM budget use and resource use. Each source is one query; evaluate.ts runs each at most
// once per evaluation however many rules share it.
import type { Pool } from "../db/pool.ts";
import type { Fleet } from "../queues/fleet.ts";
import type { Config } from "../ops/config.ts";
import { baselineRows } from "./baseline.ts";
import type { BudgetRow, QualityRow, QueueRow, ResourceRow, SourceRows } from "./types.ts";

export type AlertSources = { [Q in keyof SourceRows]: () => Promise<Array<SourceRows[Q]>> };

/** Daily LLM budget use per provider (the LLM layer's quota store feeds it; see alerting.ts). */
export type BudgetUsage = (now: number) => Promise<BudgetRow[]>;

export interface QueueSnapshot extends QueueRow {
  failedLastHour: number;
  workers: number;
}

/** Depths, pause state, oldest waiting job, failures in the last hour and live workers of every queue. */
export async function queueSnapshot(fleet: Fleet, now: number): Promise<QueueSnapshot[]> {
  return Promise.all(
    fleet.allQueues().map(async (q) => {
      const [counts, paused, [oldest], failedLastHour, workers] = await Promise.all([
        q.getJobCounts("wait", "prioritized", "active", "delayed", "failed"),
        q.isPaused(),
        // Ascending: the job that has waited longest.
        q.getJobs(["wait"], 0, 0, true),
        fleet.redis.zcount(q.keys.failed!, now - 3_600_000, "+inf"),
        q.getWorkersCount(),
      ]);
      const since = oldest ? oldest.timestamp + (oldest.opts.delay ?? 0) : undefined;
      return {
        queue: q.name,
        waiting: (counts.wait ?? 0) + (counts.prioritized ?? 0),
        active: counts.active ?? 0,
        delayed: counts.delayed ?? 0,
        failed: counts.failed ?? 0,
        paused,
        oldestWaitingS: since === undefined ? null : Math.max(0, Math.round((now - since) / 1000)),
        failedLastHour,
        workers,
      };
    }),
  );
}

/** The latest check of every symbol checked in the last 3 days (symbols dropped from the universe age out). */
export async function latestQuality(pool: Pool, now: Date): Promise<QualityRow[]> {
  const { rows } = await pool.query<QualityRow>(
    `SELECT DISTINCT ON (symbol) symbol, to_char(as_of, 'YYYY-MM-DD') AS as_of, checked_at, overall_score, completeness_score,
       issue_count, gaps, rowcount_deviation, null_ema_count, stale_seconds
     FROM quality_metrics WHERE checked_at > $1::timestamptz - interval '3 days' AND checked_at <= $1
     ORDER BY symbol, checked_at DESC`,
    [now],
  );
  return rows;
}

/** Client connections of PostgreSQL against max_connections. */
export async function pgConnections(pool: Pool): Promise<ResourceRow> {
  const { rows } = await pool.query<{ used: number; limit: number }>(
    `SELECT count(*)::int AS used, current_setting('max_connections')::int AS "limit" FROM pg_stat_activity WHERE backend_type = 'client backend'`,
  );
  return { resource: "pg-connections", used: rows[0]!.used, limit: rows[0]!.limit };
}

/** Redis used memory against maxmemory; nothing when Redis has no memory limit. */
export async function redisMemory(fleet: Fleet): Promise<ResourceRow[]> {
  const info = await fleet.redis.info("memory");
  const field = (name: string) => Number(new RegExp(`^${name}:(\\d+)`, "m").exec(info)?.[1] ?? 0);
  const limit = field("maxmemory");
  return limit > 0 ? [{ resource: "redis-memory", used: field("used_memory"), limit }] : [];
}

export interface SourceDeps {
  fleet: Fleet;
  pool: Pool;
  cfg: Pick<Config, "ALERT_BASELINE_METRICS" | "ALERT_BASELINE_MIN_SAMPLES">;
  budgetUsage: BudgetUsage;
}

export function alertSources(d: SourceDeps, now: Date): AlertSources {
  return {
    queues: () => queueSnapshot(d.fleet, now.getTime()),
    quality: () => latestQuality(d.pool, now),
    baseline: () => baselineRows(d.pool, { metrics: d.cfg.ALERT_BASELINE_METRICS, minSamples: d.cfg.ALERT_BASELINE_MIN_SAMPLES }, now),
    budgets: () => d.budgetUsage(now.getTime()),
    resources: async () => [await pgConnections(d.pool), ...(await redisMemory(d.fleet))],
  };
}
