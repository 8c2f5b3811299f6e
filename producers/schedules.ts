// Every recurring job of the fleet, in one table. The scheduler process registers them idempotently
// (BullMQ job schedulers keyed by id), so any number of scheduler processes yield one job per tick.
import type { Config } from "../ops/config.ts";
import type { PayloadOf } from "../queues/kind.ts";
import { maintenanceKind } from "../queues/registry.ts";
import { parseRange } from "../compute/backtest/sweep-grid.ts";

export interface Schedule {
  id: string;
  /** Cron with seconds field: "sec min hour day month weekday". */
  pattern: string;
  tz: string;
  payload: PayloadOf<typeof maintenanceKind>;
}

export function schedules(cfg: Config): Schedule[] {
  return [
    { id: "daily-refresh", pattern: cfg.DAILY_REFRESH_CRON, tz: cfg.SCHEDULE_TZ, payload: { task: "daily-refresh", assets: [...cfg.DAILY_REFRESH_ASSETS] } },
    { id: "metrics-partitions", pattern: "0 5 0 * * *", tz: "UTC", payload: { task: "metrics-partitions", ahead: 3, retentionDays: 90 } },
    // Hourly, so a new UTC day's partition exists long before midnight and expired days go within the hour.
    { id: "span-partitions", pattern: "0 25 * * * *", tz: "UTC", payload: { task: "span-partitions", aheadDays: 7, retentionDays: cfg.SPAN_RETENTION_DAYS } },
    { id: "alerts-evaluate", pattern: "0 * * * * *", tz: "UTC", payload: { task: "alerts-evaluate" } },
    { id: "quality-rollup", pattern: "0 10 * * * *", tz: "UTC", payload: { task: "quality-rollup", hours: 48 } },
    { id: "llm-calls-expire", pattern: "0 20 * * * *", tz: "UTC", payload: { task: "llm-calls-expire", olderThanMinutes: 60 } },
    ...(cfg.WALK_FORWARD_CRON
      ? [
          {
            id: "walk-forward",
            pattern: cfg.WALK_FORWARD_CRON,
            tz: cfg.SCHEDULE_TZ,
            payload: {
              task: "walk-forward" as const,
              assets: [...(cfg.WALK_FORWARD_ASSETS ?? cfg.DAILY_REFRESH_ASSETS)],
              fast: parseRange(cfg.WALK_FORWARD_FAST, "WALK_FORWARD_FAST"),
              slow: parseRange(cfg.WALK_FORWARD_SLOW, "WALK_FORWARD_SLOW"),
              train: cfg.WALK_FORWARD_TRAIN,
              test: cfg.WALK_FORWARD_TEST,
              feeBps: 10,
            },
          },
        ]
      : []),
  ];
}
