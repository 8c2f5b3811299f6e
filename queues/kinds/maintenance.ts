import { z } from "zod";
import { BASE_JOB_OPTIONS, defineKind, isoDate, symbol } from "../kind.ts";
import { intRange, windowBars } from "./backtest.ts";

export const MAINTENANCE_TASKS = ["smoke", "daily-refresh", "walk-forward", "metrics-partitions", "span-partitions", "alerts-evaluate", "quality-rollup", "llm-calls-expire"] as const;

export interface MaintenanceResult {
  task: (typeof MAINTENANCE_TASKS)[number];
  [key: string]: unknown;
}

const schema = z.discriminatedUnion("task", [
  z.strictObject({
    task: z.literal("smoke"),
    id: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, "must be 1-64 letters, digits, _ -"),
    message: z.string().min(1).max(500),
  }),
  // The scheduler's trigger: adds the day's daily-refresh flow (as of the given or the current UTC day).
  z.strictObject({ task: z.literal("daily-refresh"), assets: z.array(symbol).min(1).max(500), asOf: isoDate.optional() }),
  // The scheduler's trigger of a walk-forward per asset over its bars as they are (queues/flows/walk-forward.ts).
  z.strictObject({
    task: z.literal("walk-forward"),
    assets: z.array(symbol).min(1).max(500),
    fast: intRange,
    slow: intRange,
    train: windowBars,
    test: windowBars,
    feeBps: z.number().min(0).max(1000),
  }),
  z.strictObject({ task: z.literal("metrics-partitions"), ahead: z.number().int().min(1).max(24).default(3), retentionDays: z.number().int().min(1).default(90) }),
  // Hourly: daily span partitions up to `aheadDays` ahead; those past `retentionDays` (SPAN_RETENTION_DAYS) dropped.
  z.strictObject({ task: z.literal("span-partitions"), aheadDays: z.number().int().min(1).max(60).default(7), retentionDays: z.number().int().min(1).max(3650) }),
  // Every minute (producers/schedules.ts): evaluate the alert rules (alerts/rules.ts), then a bounded delivery pass.
  z.strictObject({ task: z.literal("alerts-evaluate") }),
  // Hourly: recompute the quality rollups over the last `hours` hours (idempotent upserts).
  z.strictObject({ task: z.literal("quality-rollup"), hours: z.number().int().min(1).max(24 * 400).default(48) }),
  // Hourly: LLM ledger rows still `pending` after this long belong to calls whose process died.
  z.strictObject({ task: z.literal("llm-calls-expire"), olderThanMinutes: z.number().int().min(10).max(7 * 24 * 60).default(60) }),
]);

export const maintenanceKind = defineKind<"maintenance", typeof schema, MaintenanceResult>({
  name: "maintenance",
  schema,
  jobName: (p) => p.task,
  jobId: (p) => (p.task === "smoke" ? `smoke.${p.id}` : undefined),
  jobOptions: { ...BASE_JOB_OPTIONS, removeOnComplete: { age: 24 * 3600, count: 500 } },
  timeoutMs: 5 * 60_000,
  // Ticks every minute or hour would be a stream of one-span traces nobody reads; daily-refresh starts a run.
  tracing: { sample: { "*": 0.01, "daily-refresh": 1 }, slowMs: 60_000 },
  // No spanAttributes: the job name already says which task; no extra object per (frequent) job.
});
