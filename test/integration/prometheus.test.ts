// /metrics on the web app: behind auth, queue depths for every queue, fleet rates from the metrics table,
// seed 003's quality metrics from quality_metrics; `promtool check metrics` accepts it, the alert rules
// pass `promtool check rules` and their unit tests, and the dashboard and rules use only served metrics;
// the scheduler's sampler writes queue depths and quota use into the metrics table.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import type { Server } from "node:http";
import { resolve } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { insertMetrics } from "../../db/repos/metrics.ts";
import { saveQuality, type QualityRecord } from "../../db/repos/quality.ts";
import { MetricsCollector } from "../../ops/metrics/collector.ts";
import { prometheusRegistry } from "../../apps/web/prometheus.ts";
import { QUEUE_STATES, startQueueDepthSampler } from "../../queues/queue-depth.ts";
import { createWebApp } from "../../apps/web/app.ts";
import { QuotaStore } from "../../queues/quota.ts";
import { KIND_NAMES, maintenanceKind, stageKind } from "../../queues/registry.ts";
import { requireInCi } from "../helpers/ci.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/db.ts";
import { testFleet, type TestFleet } from "../helpers/fleet.ts";

const ROOT = resolve(import.meta.dirname, "../..");
// Skipped only on a developer machine without promtool; with CI set, a missing promtool fails this file.
const skipPromtool = requireInCi("promtool", spawnSync("promtool", ["--version"]).status === 0);
const AUTH = `Basic ${Buffer.from("admin:correct-horse").toString("base64")}`;

let db: TestDatabase;
let tf: TestFleet;
let server: Server;
let base: string;

// Each test: its own database, queue prefix and web app (the first one asserts on an empty fleet).
beforeEach(async () => {
  db = await createTestDatabase();
  tf = testFleet("prom");
  const app = createWebApp({
    fleet: tf.fleet,
    credentials: { user: "admin", password: "correct-horse" },
    readOnly: true,
    probes: { liveness: {}, readiness: {}, startup: {} },
    metrics: prometheusRegistry({ queues: () => tf.fleet.allQueues(), db: db.pool }),
  });
  server = app.listen(0, "127.0.0.1");
  await new Promise<void>((r) => server.once("listening", () => r()));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterEach(async () => {
  await new Promise<void>((r) => {
    server?.close(() => r());
    server?.closeAllConnections();
  });
  await tf?.close();
  await db?.drop();
});

async function scrape(): Promise<{ text: string; samples: Map<string, number>; types: Map<string, string> }> {
  const res = await fetch(`${base}/metrics`, { headers: { authorization: AUTH } });
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
  const text = await res.text();
  const samples = new Map<string, number>();
  const types = new Map<string, string>();
  for (const line of text.split("\n")) {
    const t = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (t) types.set(t[1]!, t[2]!);
    const m = /^([a-z_:]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) continue;
    // Labels sorted, so lookups do not depend on the order prom-client prints them in.
    const labels = (m[2] ?? "").match(/[a-z_]+="[^"]*"/g)?.sort().join(",") ?? "";
    samples.set(`${m[1]}{${labels}}`, Number(m[3]));
  }
  return { text, samples, types };
}

function promtool(args: string[], input?: string) {
  const r = spawnSync("promtool", args, { input, encoding: "utf8", cwd: resolve(ROOT, "ops/prometheus") });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

const quality = (symbol: string, jobId: string, score: number, status: QualityRecord["status"], issues: Array<{ check: string; severity: string }>, extra: Partial<QualityRecord> = {}): QualityRecord => ({
  jobId,
  symbol,
  asOf: "2022-11-15",
  overallScore: score,
  freshnessScore: 100,
  completenessScore: 95,
  outlierScore: 99,
  outliersDetected: 2,
  status,
  issues: issues.map((i) => ({ ...i, message: "m", value: 1, threshold: 0 })),
  gaps: 0,
  expectedRows: 100,
  actualRows: 100,
  rowcountDeviation: 0,
  nullRatio: 0,
  nullEmaCount: 0,
  misalignedBars: 0,
  staleSeconds: 0,
  checkDurationMs: 30,
  ...extra,
});

describe("/metrics", () => {
  it("requires the board's credentials", async () => {
    expect((await fetch(`${base}/metrics`)).status).toBe(401);
    expect((await fetch(`${base}/metrics`, { headers: { authorization: `Basic ${Buffer.from("admin:wrong").toString("base64")}` } })).status).toBe(401);
  });

  it.skipIf(skipPromtool)("serves every queue's depth and passes promtool with an empty quality table", async () => {
    const { text, samples, types } = await scrape();
    for (const queue of KIND_NAMES) expect(samples.get(`ta_fleet_queue_jobs{queue="${queue}",state="waiting"}`), queue).toBe(0);
    expect(samples.get('ta_fleet_scrape_source_up{source="quality"}')).toBe(1);
    expect(types.get("quality_overall_score")).toBe("gauge");
    expect([...samples.keys()].filter((k) => k.startsWith("quality_"))).toEqual([]);
    const check = promtool(["check", "metrics"], text);
    expect(check.out).toBe("");
    expect(check.status).toBe(0);
  });

  it.skipIf(skipPromtool)("reports queue depths, fleet rates and the newest quality figures per symbol", async () => {
    // Created 90 s ago, so the oldest waiting age is known to the scrape's own duration.
    const created = Date.now() - 90_000;
    await tf.fleet.queue(stageKind).addBulk(["a", "b", "c"].map((s) => ({ name: "ema", data: { stage: "ema", asset: s, asOf: "2022-11-15" }, opts: { timestamp: created } })));
    await saveQuality(db.pool, quality("AAA", "q1", 80, "good", [{ check: "rowcount", severity: "warning" }]));
    await saveQuality(db.pool, quality("AAA", "q2", 45, "poor", [{ check: "gaps", severity: "critical" }, { check: "rowcount", severity: "warning" }], { staleSeconds: 1800, checkDurationMs: 700, outliersDetected: 3 }));
    await saveQuality(db.pool, quality("BBB", "q3", 97, "excellent", []));
    const at = Date.now() - 10_000;
    const row = (name: string, type: "counter" | "histogram", value: number, labels: Record<string, string>) => ({ at, name, type, value, component: "worker", labels: JSON.stringify(labels) });
    await insertMetrics(db.pool, [
      row("job_outcomes", "counter", 270, { queue: "stage", job: "ema", outcome: "completed" }),
      row("job_outcomes", "counter", 30, { queue: "stage", job: "ema", outcome: "failed" }),
      ...[100, 200, 300, 400, 500].map((v) => row("job_run_ms", "histogram", v, { queue: "stage", job: "ema" })),
    ]);
    const scrapeStart = Date.now();
    const { text, samples } = await scrape();
    const scrapeEnd = Date.now();
    const v = (k: string) => samples.get(k);
    expect(v('ta_fleet_queue_jobs{queue="stage",state="waiting"}')).toBe(3);
    const age = v('ta_fleet_queue_oldest_waiting_age_seconds{queue="stage"}')!;
    expect(age).toBeGreaterThanOrEqual((scrapeStart - created) / 1000);
    expect(age).toBeLessThanOrEqual((scrapeEnd - created) / 1000);
    // Queues nobody added to report 0, not the age of some other queue's job.
    expect(v('ta_fleet_queue_oldest_waiting_age_seconds{queue="signal"}')).toBe(0);
    expect(v('ta_fleet_queue_workers{queue="stage"}')).toBe(0);
    expect(v('ta_fleet_jobs_per_second{outcome="completed",queue="stage"}')).toBeCloseTo(0.9, 9);
    expect(v('ta_fleet_jobs_per_second{outcome="failed",queue="stage"}')).toBeCloseTo(0.1, 9);
    expect(v('ta_fleet_job_run_seconds{percentile="p50",queue="stage"}')).toBeCloseTo(0.3, 9);
    // The newest check of AAA, and totals over both of its checks.
    expect(v('quality_overall_score{symbol="AAA"}')).toBe(45);
    expect(v('quality_overall_score{symbol="BBB"}')).toBe(97);
    expect(v('quality_completeness_score{symbol="AAA"}')).toBe(95);
    expect(v('quality_freshness_score{symbol="AAA"}')).toBe(100);
    expect(v('quality_outlier_score{symbol="AAA"}')).toBe(99);
    expect(v('quality_status{status="poor",symbol="AAA"}')).toBe(1);
    expect(v('quality_status{status="good",symbol="AAA"}')).toBe(0);
    expect(v('quality_checks_total{symbol="AAA"}')).toBe(2);
    expect(v('quality_outlier_detected_total{symbol="AAA"}')).toBe(5);
    expect(v('quality_issues_detected_total{issue_type="rowcount",severity="warning",symbol="AAA"}')).toBe(2);
    expect(v('quality_issues_detected_total{issue_type="gaps",severity="critical",symbol="AAA"}')).toBe(1);
    expect(v('quality_latest_issues{symbol="AAA"}')).toBe(2);
    expect(v('quality_stale_seconds{symbol="AAA"}')).toBe(1800);
    expect(v('quality_check_duration_seconds_bucket{le="0.05",symbol="AAA"}')).toBe(1);
    expect(v('quality_check_duration_seconds_bucket{le="1",symbol="AAA"}')).toBe(2);
    expect(v('quality_check_duration_seconds_bucket{le="+Inf",symbol="AAA"}')).toBe(2);
    expect(v('quality_check_duration_seconds_sum{symbol="AAA"}')).toBeCloseTo(0.73, 9);
    expect(v('quality_check_duration_seconds_count{symbol="AAA"}')).toBe(2);
    expect(Math.abs(v('quality_last_check_timestamp_seconds{symbol="AAA"}')! - Date.now() / 1000)).toBeLessThan(60);
    const check = promtool(["check", "metrics"], text);
    expect(check.out).toBe("");
    expect(check.status).toBe(0);
  });

  it.skipIf(skipPromtool)("alert rules pass promtool check and unit tests; rules and dashboard use only served metrics", async () => {
    const rules = promtool(["check", "rules", "alerts.yml"]);
    expect(rules.out).toContain("SUCCESS: 9 rules found");
    expect(rules.status).toBe(0);
    const unit = promtool(["test", "rules", "alerts.test.yml"]);
    expect(unit.out).toContain("SUCCESS");
    expect(unit.status).toBe(0);
    const { types } = await scrape();
    const served = new Set([...types.entries()].flatMap(([name, type]) => (type === "histogram" ? [`${name}_bucket`, `${name}_sum`, `${name}_count`] : [name])));
    const dashboard = JSON.parse(readFileSync(resolve(ROOT, "ops/grafana/dashboard.json"), "utf8")) as { panels: Array<{ targets?: Array<{ expr: string }> }> };
    const exprs = [...dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr)), readFileSync(resolve(ROOT, "ops/prometheus/alerts.yml"), "utf8")];
    const used = new Set(exprs.flatMap((e) => e.match(/\b(?:ta_fleet|quality)_[a-z_]+\b/g) ?? []));
    expect(used.size).toBeGreaterThan(15);
    expect([...used].filter((m) => !served.has(m))).toEqual([]);
  });
});

describe("the scheduler's sampler", () => {
  it("writes every queue's depth by state and the quota use into observability.metrics", async () => {
    const store = new QuotaStore(tf.fleet.redis, tf.fleet.prefix, new Map([["llm.test", { maxConcurrent: 2, day: { requests: 10 }, leaseMs: 60_000 }]]));
    const r = await store.reserve("llm.test", 5);
    expect(r.ok).toBe(true);
    await tf.fleet.queue(maintenanceKind).add("smoke", { task: "smoke", id: "depth", message: "m" }, { delay: 60_000 });
    const metrics = new MetricsCollector({ component: "scheduler", write: (rows) => insertMetrics(db.pool, rows) });
    const sampler = startQueueDepthSampler({ queues: tf.fleet.allQueues(), metrics, everyMs: 3_600_000, quota: { store, keys: ["llm.test"] } });
    try {
      await sampler.sample();
      await metrics.flush();
    } finally {
      await sampler.close();
      await metrics.close();
    }
    const { rows } = await db.pool.query<{ metric_name: string; labels: Record<string, string>; value: number }>(
      "SELECT metric_name, labels, value FROM observability.metrics WHERE component = 'scheduler' ORDER BY metric_name",
    );
    const value = (name: string, labels: Record<string, string>) => rows.find((m) => m.metric_name === name && Object.entries(labels).every(([k, v]) => m.labels[k] === v))?.value;
    expect(rows.filter((m) => m.metric_name === "queue_jobs")).toHaveLength(KIND_NAMES.length * QUEUE_STATES.length);
    expect(value("queue_jobs", { queue: "maintenance", state: "delayed" })).toBe(1);
    expect(value("quota_active", { key: "llm.test" })).toBe(1);
    expect(value("quota_day_requests", { key: "llm.test" })).toBe(1);
    expect(value("quota_day_tokens", { key: "llm.test" })).toBe(5);
  });
});
