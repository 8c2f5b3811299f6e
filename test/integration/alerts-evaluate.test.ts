// The query rules against their real sources: BullMQ queue state, quality_metrics, metric baselines in
// observability.metrics, the LLM layer's live quota use — stored, repeated and resolved by evaluate().
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { AlertRow } from "../../db/repos/alerts.ts";
import { createAlerting, type AlertingDeps } from "../../alerts/alerting.ts";
import { budgetUsageFrom } from "../../alerts/budgets.ts";
import { ABSENT_GRACE_S } from "../../alerts/evaluate.ts";
import { parseConfig } from "../../ops/config.ts";
import { enqueue } from "../../queues/enqueue.ts";
import { maintenanceKind, stageKind } from "../../queues/registry.ts";
import { schedules } from "../../producers/schedules.ts";
import type { ComputePool } from "../../workers/threads/pool.ts";
import { maintenanceProcessor } from "../../workers/maintenance/index.ts";
import { budgetFromSpec, LlmQuota } from "../../queues/llm-quota.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/db.ts";
import { testFleet, type TestFleet } from "../helpers/fleet.ts";
import { memoryLogger } from "../helpers/log.ts";
import { poll } from "../helpers/wait.ts";

let db: TestDatabase;
let tf: TestFleet;
const logs = memoryLogger();

beforeEach(async () => {
  db = await createTestDatabase();
  tf = testFleet("alerts-eval");
});
afterEach(async () => {
  await Promise.allSettled([tf.close(), db.drop()]);
});

function alerting(env: Record<string, string> = {}, extra: Partial<AlertingDeps> = {}) {
  return createAlerting({ cfg: parseConfig(env), log: logs.log, pool: db.pool, fleet: tf.fleet, ...extra });
}

async function open(): Promise<Record<string, AlertRow>> {
  const { rows } = await db.pool.query<AlertRow>("SELECT * FROM observability.alerts WHERE resolved_at IS NULL");
  return Object.fromEntries(rows.map((r) => [r.alert_key, r]));
}

const later = (base: Date, s: number) => new Date(base.getTime() + s * 1000);

describe("queue rules", () => {
  it("backlog and oldest waiting job come from BullMQ; a paused queue resolves them after the grace period", async () => {
    const a = alerting({ ALERT_BACKLOG_MAX: "5", ALERT_OLDEST_WAITING_S: "60" });
    for (let i = 1; i <= 6; i++) await enqueue(tf.fleet, stageKind, { stage: "ema", asset: `A${i}`, asOf: "2026-11-20" });
    const t = later(new Date(), 120);
    const summary = await a.evaluate(t);
    expect(summary).toMatchObject({ firing: 2, opened: 2, skipped: {} });
    const alerts = await open();
    expect(Object.keys(alerts).sort()).toEqual(["queue-backlog:stage", "queue-oldest-waiting:stage"]);
    expect(alerts["queue-backlog:stage"]).toMatchObject({ severity: "warning", current_value: 6, threshold_value: 5, component: "queue:stage" });
    expect(alerts["queue-oldest-waiting:stage"]!.current_value).toBeGreaterThanOrEqual(119);
    expect(alerts["queue-backlog:stage"]!.message).toContain("waiting: 6 (threshold > 5)");
    // Still firing a minute later: a repeat, not a new alert.
    await a.evaluate(later(t, 60));
    expect((await open())["queue-backlog:stage"]!.repeat_count).toBe(2);
    await tf.fleet.queue(stageKind).pause();
    await a.evaluate(later(t, 120));
    expect(Object.keys(await open())).toHaveLength(2);
    await a.evaluate(later(t, 60 + 60 + ABSENT_GRACE_S));
    expect(await open()).toEqual({});
  });
});

describe("the alerts-evaluate maintenance task", () => {
  it("is scheduled every minute, evaluates the rules and makes a delivery pass", async () => {
    const cfg = parseConfig({ ALERT_BACKLOG_MAX: "1" });
    expect(schedules(cfg)).toContainEqual({ id: "alerts-evaluate", pattern: "0 * * * * *", tz: "UTC", payload: { task: "alerts-evaluate" } });
    for (const asset of ["A1", "A2"]) await enqueue(tf.fleet, stageKind, { stage: "ema", asset, asOf: "2026-11-20" });
    // Maintenance never uses the compute pool.
    await tf.worker(maintenanceKind, maintenanceProcessor({ pool: db.pool, fleet: tf.fleet, cfg, log: logs.log, compute: undefined as unknown as ComputePool }));
    const job = await enqueue(tf.fleet, maintenanceKind, { task: "alerts-evaluate" });
    await poll(async () => (await job.getState()) === "completed" || undefined, "alerts-evaluate to complete");
    const done = await tf.fleet.queue(maintenanceKind).getJob(job.id!);
    expect(done!.returnvalue).toMatchObject({ task: "alerts-evaluate", opened: 1, skipped: {}, delivered: { sent: 1, failed: 0 } });
    expect((await open())["queue-backlog:stage"]).toMatchObject({ delivery_status: "disabled", current_value: 2 });
  });
});

describe("data-quality rules", () => {
  async function check(symbol: string, minutesAgo: number, over: Record<string, number> = {}) {
    const v = { overall_score: 95, completeness_score: 99, issue_count: 1, gaps: 0, rowcount_deviation: 0.01, null_ema_count: 0, stale_seconds: 120, ...over };
    await db.pool.query(
      `INSERT INTO quality_metrics (job_id, symbol, as_of, checked_at, overall_score, freshness_score, completeness_score, outlier_score,
         outliers_detected, status, issue_count, issues, gaps, expected_rows, actual_rows, rowcount_deviation, null_ratio, null_ema_count,
         misaligned_bars, stale_seconds, check_duration_ms)
       VALUES ($1, $2, '2026-11-21', now() - make_interval(mins => $3), $4, 90, $5, 100, 0, 'good', $6, '[]', $7, 100, 100, $8, 0, $9, 0, $10, 12)`,
      [`q.${symbol}.${minutesAgo}`, symbol, minutesAgo, v.overall_score, v.completeness_score, v.issue_count, v.gaps, v.rowcount_deviation, v.null_ema_count, v.stale_seconds],
    );
  }

  it("alerts on every threshold of the latest check per symbol, with the seeds' severities", async () => {
    const bad = { overall_score: 42, completeness_score: 85, issue_count: 12, gaps: 3, rowcount_deviation: -0.07, null_ema_count: 5, stale_seconds: 1_800 };
    await check("BTC-USD", 30);
    await check("BTC-USD", 5, bad);
    await check("ETH-USD", 30, bad);
    await check("ETH-USD", 5);
    const summary = await alerting().evaluate();
    expect(summary.skipped).toEqual({});
    const alerts = await open();
    const severities = Object.fromEntries(Object.values(alerts).map((r) => [r.alert_key, r.severity]));
    expect(severities).toEqual({
      "dq-gaps:BTC-USD": "critical",
      "dq-null-ema:BTC-USD": "critical",
      "dq-score:BTC-USD": "critical",
      "dq-rowcount:BTC-USD": "warning",
      "dq-stale:BTC-USD": "warning",
      "dq-completeness:BTC-USD": "warning",
      "dq-issues:BTC-USD": "warning",
    });
    expect(alerts["dq-gaps:BTC-USD"]!.message).toContain("gaps in the bars: 3 (threshold > 0)");
    expect(alerts["dq-rowcount:BTC-USD"]!.message).toContain("row count deviation: 7.0 % (threshold > 5 %)");
  });
});

describe("baseline rule", () => {
  async function samples(queue: string, value: (i: number) => number, n: number, fromS: number, toS: number) {
    const at = Array.from({ length: n }, (_, i) => new Date(Date.now() - (fromS - ((fromS - toS) * i) / n) * 1000).toISOString());
    // Migrations create partitions from the current month on; rows of the last 7 days may need the previous one.
    for (const month of new Set(at.map((t) => `${t.slice(0, 7)}-01`))) {
      const { rows } = await db.pool.query<{ ddl: string }>(
        `SELECT format('CREATE TABLE IF NOT EXISTS observability.%I PARTITION OF observability.metrics FOR VALUES FROM (%L) TO (%L)',
                       'metrics_' || to_char($1::date, 'YYYY_MM'), $1::date, ($1::date + interval '1 month')::date) AS ddl`,
        [month],
      );
      await db.pool.query(rows[0]!.ddl);
    }
    await db.pool.query(
      `INSERT INTO observability.metrics (recorded_at, metric_name, metric_type, value, component, labels)
       SELECT t, 'job_run_ms', 'histogram', v, 'worker', jsonb_build_object('queue', $3::text, 'kind', 'x', 'outcome', 'completed')
       FROM unnest($1::timestamptz[], $2::float8[]) AS u(t, v)`,
      [at, at.map((_, i) => value(i)), queue],
    );
  }

  it("fires when the last hour's p50 exceeds 2× the 7-day p50, with enough samples on both sides", async () => {
    const week = 7 * 86_400;
    await samples("stage", (i) => 100 + (i % 7), 300, week - 3_600, 3_700);
    await samples("stage", (i) => 450 + (i % 5), 40, 3_500, 10);
    await samples("signal", (i) => 100 + (i % 7), 300, week - 3_600, 3_700);
    await samples("signal", (i) => 150 + (i % 5), 40, 3_500, 10);
    // Slow, but too few samples in the last hour to say so.
    await samples("backtest", () => 100, 300, week - 3_600, 3_700);
    await samples("backtest", () => 900, 5, 3_500, 10);
    await alerting().evaluate();
    const alerts = await open();
    expect(Object.keys(alerts)).toEqual(["metric-baseline:job_run_ms:stage"]);
    const a = alerts["metric-baseline:job_run_ms:stage"]!;
    expect(a.severity).toBe("warning");
    expect(a.current_value).toBeGreaterThan(3);
    expect(a.message).toMatch(/p50 last hour: 45\d/);
    expect(a.message).toContain("samples: 40 (1 h) / 340 (7 d)");
    // A stricter factor leaves it quiet.
    await db.pool.query("DELETE FROM observability.alerts");
    await alerting({ ALERT_BASELINE_FACTOR: "5" }).evaluate();
    expect(await open()).toEqual({});
  });
});

describe("LLM budget rule", () => {
  it("reads live use from the LLM layer's quota store: 50 % info, 90 % warning at once", async () => {
    const budgets = new Map([["gemini", budgetFromSpec({ rpd: 10 }, "UTC")]]);
    const quota = new LlmQuota(tf.fleet.redis, tf.prefix, budgets, db.pool, logs.log);
    const a = alerting({}, { budgetUsage: budgetUsageFrom((p) => quota.budgetUsage(p), ["gemini"]) });
    for (let i = 0; i < 6; i++) await quota.reserve("gemini", 0);
    await a.evaluate();
    expect((await open())["llm-budget:gemini"]).toMatchObject({ severity: "info", level: 0, current_value: 60 });
    await a.deliver();
    for (let i = 0; i < 3; i++) await quota.reserve("gemini", 0);
    const t = new Date();
    await a.evaluate(t);
    const row = (await open())["llm-budget:gemini"]!;
    expect(row).toMatchObject({ severity: "warning", level: 2, current_value: 90, repeat_count: 2, delivery_status: "pending" });
    // A higher level is not held back by the cooldown.
    expect(row.next_delivery_at.getTime()).toBeLessThanOrEqual(t.getTime());
    expect(row.message).toContain("usage: 9 of 10 requests today");
  });

  it("a source that fails skips its rules and leaves their open alerts open", async () => {
    let fail = false;
    const a = alerting({}, { budgetUsage: async () => (fail ? Promise.reject(new Error("redis unavailable")) : [{ provider: "openai", used: 96, limit: 100 }]) });
    await a.evaluate();
    expect((await open())["llm-budget:openai"]!.severity).toBe("critical");
    fail = true;
    const t = later(new Date(), 600);
    const summary = await a.evaluate(t);
    expect(summary.skipped).toEqual({ budgets: "redis unavailable" });
    expect(Object.keys(await open())).toContain("llm-budget:openai");
    expect(logs.records().some((r) => r.msg === "alert source unavailable; its rules were skipped" && r.source === "budgets")).toBe(true);
  });
});

describe("resource rule", () => {
  it("reads PostgreSQL connections (and Redis memory when Redis has a limit) without firing on a healthy stack", async () => {
    const summary = await alerting().evaluate();
    expect(summary.skipped).toEqual({});
    expect(Object.keys(await open()).filter((k) => k.startsWith("resource-use:"))).toEqual([]);
  });
});
