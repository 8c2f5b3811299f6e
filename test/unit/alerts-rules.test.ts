// Every rule of the table against a row that fires (and one that does not): severity, key, and the
// message the chats get — marker, title, key figures against the threshold, link, ack hint.
import { describe, expect, it } from "vitest";
import type { AlertRow } from "../../db/repos/alerts.ts";
import { parseConfig } from "../../ops/config.ts";
import { findingFor } from "../../alerts/findings.ts";
import { BOARD_PATH, DASHBOARD_PATH } from "../../alerts/links.ts";
import { renderAlert } from "../../alerts/message.ts";
import { BOARD_PATH as WEB_BOARD_PATH } from "../../apps/web/app.ts";
import { DASHBOARD_PATH as WEB_DASHBOARD_PATH } from "../../apps/web/dashboard/router.ts";
import { alertRules } from "../../alerts/rules.ts";
import type { Finding, RuleBody } from "../../alerts/types.ts";

const cfg = parseConfig({});
const rules = alertRules(cfg);
const BASE = "https://fleet.example";
const T0 = new Date("2026-11-22T10:00:00Z");

const quality = (over: Record<string, unknown>) => ({
  symbol: "BTC-USD",
  as_of: "2026-11-21",
  checked_at: new Date("2026-11-22T00:40:00Z"),
  overall_score: 92,
  completeness_score: 99,
  issue_count: 0,
  gaps: 0,
  rowcount_deviation: 0,
  null_ema_count: 0,
  stale_seconds: 60,
  ...over,
});

interface Case {
  fires: unknown;
  quiet?: unknown;
  severity: Finding["severity"];
  key: string;
  expect: string[];
  absent?: string[];
}

// One entry per rule: a rule added to the table without one fails the coverage test below.
const CASES: Record<string, Case[]> = {
  "job-failed": [
    {
      fires: { queue: "stage", jobId: "stage.ema.BTC-USD.2026-11-21", name: "ema", attemptsMade: 3, attempts: 3, reason: "fetch failed: 503", finishedOn: Date.parse("2026-11-22T00:31:00Z") },
      severity: "warning",
      key: "job-failed:stage:ema",
      expect: ["🟠 WARNING · stage/ema failed after its last attempt", "attempts: 3 of 3", "job: stage.ema.BTC-USD.2026-11-21", "reason: fetch failed: 503", "failed at: 2026-11-22T00:31:00Z", `🔗 ${BASE}/admin/queues/queue/stage?status=failed`],
    },
  ],
  "job-stalled": [{ fires: { queue: "backtest", jobId: "42", name: "signal" }, severity: "warning", key: "job-stalled:backtest", expect: ["backtest: a job stalled", "job 42 (signal) lost its lock", "/queue/backtest?status=active"] }],
  "flow-run": [
    {
      fires: {
        runId: "r1",
        asOf: "2026-11-21",
        status: "partial",
        assets: [
          { asset: "BTC-USD", status: "completed" },
          {
            asset: "ETH-USD",
            status: "partial",
            failedAt: "strategy broken (#4)",
            reason: "child {ta}:signal:signal.4.ETH-USD.2026-11-21 failed",
            cause: { reason: "dim_signals 4 (broken): params.slow: must be greater than fast (got 10)", queue: "signal", jobId: "signal.4.ETH-USD.2026-11-21" },
          },
        ],
      },
      quiet: { runId: "r2", asOf: "2026-11-22", status: "completed", assets: [{ asset: "BTC-USD", status: "completed" }] },
      severity: "warning",
      key: "flow-run:daily-refresh",
      // The root cause and its job, not BullMQ's "child … failed" that the failing step reported.
      expect: [
        "daily-refresh run 2026-11-21 partial",
        "status: partial (1 of 2 assets not completed)",
        "\nETH-USD: partial at strategy broken (#4): dim_signals 4 (broken): params.slow: must be greater than fast (got 10) (job signal/signal.4.ETH-USD.2026-11-21)\n",
        "run: r1",
        `🔗 ${BASE}/dashboard/runs/r1`,
      ],
      absent: ["child {ta}"],
    },
    {
      // A summary without a cause (built before causes were recorded) shows the reported reason.
      fires: { runId: "r3", asOf: "2026-11-21", status: "failed", assets: [{ asset: "SPY", status: "failed", failedAt: "ema", reason: "no bars" }] },
      severity: "critical",
      key: "flow-run:daily-refresh",
      expect: ["🔴 CRITICAL · daily-refresh run 2026-11-21 failed", "\nSPY: failed at ema: no bars\n"],
    },
  ],
  "queue-backlog": [
    {
      fires: { queue: "stage", waiting: 1500, active: 4, delayed: 2, failed: 0, paused: false, oldestWaitingS: 30 },
      quiet: { queue: "stage", waiting: 1500, active: 0, delayed: 0, failed: 0, paused: true, oldestWaitingS: 30 },
      severity: "warning",
      key: "queue-backlog:stage",
      expect: ["stage: backlog of waiting jobs", "waiting: 1500 (threshold > 1000)", "active: 4", "/queue/stage?status=waiting"],
    },
  ],
  "queue-oldest-waiting": [
    {
      fires: { queue: "llm", waiting: 3, active: 0, delayed: 0, failed: 0, paused: false, oldestWaitingS: 1200 },
      quiet: { queue: "llm", waiting: 0, active: 0, delayed: 0, failed: 0, paused: false, oldestWaitingS: null },
      severity: "warning",
      key: "queue-oldest-waiting:llm",
      expect: ["llm: jobs wait too long", "oldest waiting: 1200 s (threshold > 900 s)", "waiting: 3"],
    },
  ],
  "metric-baseline": [
    {
      fires: { metric: "job_run_ms", queue: "stage", p50Hour: 900, p50Week: 300, samplesHour: 40, samplesWeek: 5000 },
      quiet: { metric: "job_run_ms", queue: "stage", p50Hour: 450, p50Week: 300, samplesHour: 40, samplesWeek: 5000 },
      severity: "warning",
      key: "metric-baseline:job_run_ms:stage",
      expect: ["stage: job_run_ms above its 7-day baseline", "p50 last hour / p50 7 days: 3× (threshold > 2×)", "p50 last hour: 900", "p50 7 days: 300", "samples: 40 (1 h) / 5000 (7 d)"],
    },
  ],
  "dq-gaps": [{ fires: quality({ gaps: 3 }), quiet: quality({}), severity: "critical", key: "dq-gaps:BTC-USD", expect: ["🔴 CRITICAL · BTC-USD: gaps in the bars", "gaps in the bars: 3 (threshold > 0)", "as of: 2026-11-21", "quality score: 92"] }],
  "dq-rowcount": [
    { fires: quality({ rowcount_deviation: -0.08 }), quiet: quality({ rowcount_deviation: 0.05 }), severity: "warning", key: "dq-rowcount:BTC-USD", expect: ["row count deviation: 8 % (threshold > 5 %)"] },
  ],
  "dq-null-ema": [{ fires: quality({ null_ema_count: 2 }), quiet: quality({}), severity: "critical", key: "dq-null-ema:BTC-USD", expect: ["NULL EMA values: 2 (threshold > 0)"] }],
  "dq-score": [{ fires: quality({ overall_score: 42 }), quiet: quality({ overall_score: 50 }), severity: "critical", key: "dq-score:BTC-USD", expect: ["quality score: 42 (threshold < 50)"] }],
  "dq-stale": [{ fires: quality({ stale_seconds: 1800 }), quiet: quality({ stale_seconds: 900 }), severity: "warning", key: "dq-stale:BTC-USD", expect: ["data staleness: 1800 s (threshold > 900 s)"] }],
  "dq-completeness": [{ fires: quality({ completeness_score: 85.5 }), quiet: quality({ completeness_score: 90 }), severity: "warning", key: "dq-completeness:BTC-USD", expect: ["completeness: 85.5 % (threshold < 90 %)"] }],
  "dq-issues": [{ fires: quality({ issue_count: 12 }), quiet: quality({ issue_count: 10 }), severity: "warning", key: "dq-issues:BTC-USD", expect: ["quality issues: 12 (threshold > 10)"] }],
  "llm-budget": [
    { fires: { provider: "gemini", used: 750, limit: 1500, measure: "requests" }, quiet: { provider: "gemini", used: 740, limit: 1500 }, severity: "info", key: "llm-budget:gemini", expect: ["🔵 INFO · LLM budget of gemini for today", "used: 50 % (threshold >= 50 %)", "usage: 750 of 1500 requests today", `🔗 ${BASE}/dashboard/llm`] },
    { fires: { provider: "gemini", used: 1300, limit: 1500 }, severity: "warning", key: "llm-budget:gemini", expect: ["used: 86.7 % (threshold >= 80 %)"] },
    { fires: { provider: "gemini", used: 1400, limit: 1500 }, severity: "warning", key: "llm-budget:gemini", expect: ["used: 93.3 % (threshold >= 90 %)"] },
    { fires: { provider: "openai", used: 9_600, limit: 10_000 }, severity: "critical", key: "llm-budget:openai", expect: ["🔴 CRITICAL", "used: 96 % (threshold >= 95 %)"] },
  ],
  "resource-use": [
    { fires: { resource: "pg-connections", used: 85, limit: 100 }, quiet: { resource: "pg-connections", used: 12, limit: 100 }, severity: "warning", key: "resource-use:pg-connections", expect: ["pg-connections nearly exhausted", "used: 85 % (threshold >= 80 %)", "usage: 85 of 100", `🔗 ${BASE}/dashboard\n`] },
    { fires: { resource: "redis-memory", used: 980, limit: 1000 }, severity: "critical", key: "resource-use:redis-memory", expect: ["used: 98 % (threshold >= 95 %)"] },
  ],
};

function storedRow(f: Finding, over: Partial<AlertRow> = {}): AlertRow {
  return {
    alert_id: 17,
    alert_key: f.key,
    alert_type: f.rule,
    severity: f.severity,
    level: f.level,
    component: f.component,
    title: f.title,
    message: f.message,
    threshold_value: f.threshold,
    current_value: f.value,
    triggered_at: T0,
    last_seen_at: T0,
    repeat_count: 1,
    resolved_at: null,
    acknowledged_at: null,
    acknowledged_by: null,
    delivery_status: "pending",
    delivery_attempts: 0,
    next_delivery_at: T0,
    last_delivery_error: null,
    metadata: f.link ? { link: f.link } : {},
    cooldown_s: 900,
    revision: 0,
    notified_at: null,
    notified_severity: null,
    notified_level: null,
    notified_repeat_count: 0,
    delivered_chats: [],
    ...over,
  };
}

const body = (name: string) => {
  const rule = rules.find((r) => r.name === name)!;
  return { ...(rule as unknown as RuleBody<unknown>), name };
};

describe("alert rule table", () => {
  it("has a message test for every rule, and unique names", () => {
    expect(Object.keys(CASES).sort()).toEqual(rules.map((r) => r.name).sort());
    expect(new Set(rules.map((r) => r.name)).size).toBe(rules.length);
  });

  for (const [name, cases] of Object.entries(CASES)) {
    it(`${name}: fires with its severity and key, renders marker/title/figures/link, stays quiet below its threshold`, () => {
      for (const c of cases) {
        const f = findingFor(body(name), c.fires);
        expect(f, JSON.stringify(c.fires)).toBeDefined();
        expect(f!.severity).toBe(c.severity);
        expect(f!.key).toBe(c.key);
        const text = renderAlert(storedRow(f!), BASE, T0);
        for (const s of c.expect) expect(text).toContain(s);
        for (const s of c.absent ?? []) expect(text).not.toContain(s);
        expect(text).toContain(`alert #17 · ${name} · /ack 17`);
        expect(text).toMatch(new RegExp(`🔗 ${BASE}/(admin/queues|dashboard)`));
        if (c.quiet) expect(findingFor(body(name), c.quiet)).toBeUndefined();
      }
    });
  }

  it("budget levels follow ALERT_BUDGET_LEVELS and 95 % is always critical", () => {
    const custom = alertRules(parseConfig({ ALERT_BUDGET_LEVELS: "70,40" })).find((r) => r.name === "llm-budget")!;
    expect(custom.levels).toEqual([
      { at: 40, severity: "info" },
      { at: 70, severity: "warning" },
      { at: 95, severity: "critical" },
    ]);
  });

  it("thresholds come from the config", () => {
    const strict = alertRules(parseConfig({ ALERT_BACKLOG_MAX: "10", ALERT_BASELINE_FACTOR: "1.5" }));
    const backlog = strict.find((r) => r.name === "queue-backlog")! as unknown as RuleBody<unknown>;
    expect(findingFor({ ...backlog, name: "queue-backlog" }, { queue: "q", waiting: 11, active: 0, delayed: 0, failed: 0, paused: false, oldestWaitingS: 1 })?.threshold).toBe(10);
    const base = strict.find((r) => r.name === "metric-baseline")! as unknown as RuleBody<unknown>;
    expect(findingFor({ ...base, name: "metric-baseline" }, { metric: "m", queue: "q", p50Hour: 160, p50Week: 100, samplesHour: 50, samplesWeek: 500 })).toBeDefined();
  });
});

describe("alert messages", () => {
  const f = findingFor(body("job-failed"), CASES["job-failed"]![0]!.fires)!;

  it("a repeat carries the count; an escalation names the previous severity", () => {
    const repeat = renderAlert(storedRow(f, { repeat_count: 3, last_seen_at: new Date("2026-11-22T10:20:00Z"), notified_at: T0, notified_severity: "warning", notified_level: 0 }), BASE, T0);
    expect(repeat).toContain("seen 3× since 2026-11-22 10:00 UTC (last 2026-11-22 10:20 UTC)");
    const escalated = renderAlert(storedRow(f, { severity: "critical", repeat_count: 4, notified_at: T0, notified_severity: "warning", notified_level: 0 }), BASE, T0);
    expect(escalated.split("\n")[0]).toBe("⬆️ 🔴 CRITICAL (was WARNING) · stage/ema failed after its last attempt");
  });

  it("a resolution says how long it was open and how often it was seen, without an ack hint", () => {
    const text = renderAlert(storedRow(f, { resolved_at: new Date("2026-11-22T10:42:00Z"), repeat_count: 5, notified_at: T0, notified_severity: "warning" }), BASE, T0);
    expect(text.split("\n")[0]).toBe("✅ RESOLVED · stage/ema failed after its last attempt");
    expect(text).toContain("was WARNING, open 42 min (since 2026-11-22 10:00 UTC), seen 5×");
    expect(text).not.toContain("/ack");
  });

  it("links to the paths the web process serves", () => {
    expect([BOARD_PATH, DASHBOARD_PATH]).toEqual([WEB_BOARD_PATH, WEB_DASHBOARD_PATH]);
  });

  it("stays within Telegram's 4096 characters", () => {
    const text = renderAlert(storedRow(f, { message: "x".repeat(10_000) }), BASE, T0);
    expect(text.length).toBeLessThanOrEqual(4096);
  });
});
