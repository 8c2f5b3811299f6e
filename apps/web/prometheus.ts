// What the web process serves at /metrics (prom-client): live queue depths for every queue from Redis,
// fleet job rates and latencies over the last 5 minutes from observability.metrics, and seed 003's
// quality_* metrics from the newest quality_metrics row per symbol. One snapshot per scrape feeds every
// metric; a failing source drops only its own metrics and shows in ta_fleet_scrape_source_up.
import type { Queue } from "bullmq";
import { Counter, Gauge, Registry } from "prom-client";
import type { Pool } from "../../db/pool.ts";
import { latestQuality, percentiles, qualityDurationBuckets, qualityIssueTotals, rates, type Percentiles, type QualityLatest, type Rate } from "../../db/repos/metrics.ts";
import { QUEUE_STATES } from "../../queues/queue-depth.ts";

export const WINDOW_SECONDS = 300;
export const QUALITY_STATUSES = ["excellent", "good", "fair", "poor"] as const;
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

interface QueueInfo {
  queue: string;
  counts: Record<string, number>;
  workers: number;
  oldestWaitingAgeSeconds: number;
}

interface Snapshot {
  up: Record<"redis" | "postgres" | "quality", boolean>;
  queues: QueueInfo[];
  rates: Rate[];
  run: Percentiles[];
  wait: Percentiles[];
  quality: QualityLatest[];
  issues: Awaited<ReturnType<typeof qualityIssueTotals>>;
  durations: Awaited<ReturnType<typeof qualityDurationBuckets>>;
}

export interface PrometheusSources {
  queues: () => readonly Queue[];
  db: Pick<Pool, "query">;
}

async function queueInfo(q: Queue): Promise<QueueInfo> {
  const [counts, workers, oldest] = await Promise.all([q.getJobCounts(...QUEUE_STATES), q.getWorkersCount(), q.getJobs(["wait"], 0, 0, true)]);
  const ts = oldest[0]?.timestamp;
  return { queue: q.name, counts, workers, oldestWaitingAgeSeconds: ts ? Math.max(0, (Date.now() - ts) / 1000) : 0 };
}

async function takeSnapshot(src: PrometheusSources): Promise<Snapshot> {
  // One source down (Redis or PostgreSQL) leaves its series out of this scrape instead of failing all of
  // it; the scrape itself reports which (ta_fleet_scrape_source_up), and readiness says why.
  const settle = async <T>(p: Promise<T>): Promise<T | undefined> => p.catch(() => undefined);
  const q = { windowSeconds: WINDOW_SECONDS, groupBy: ["queue"] };
  const [queues, fleet, quality] = await Promise.all([
    settle(Promise.all(src.queues().map(queueInfo))),
    settle(
      Promise.all([
        rates(src.db, { ...q, name: "job_outcomes", groupBy: ["queue", "outcome"] }),
        percentiles(src.db, { ...q, name: "job_run_ms" }),
        percentiles(src.db, { ...q, name: "job_wait_ms" }),
      ]),
    ),
    settle(Promise.all([latestQuality(src.db), qualityIssueTotals(src.db), qualityDurationBuckets(src.db, DURATION_BUCKETS)])),
  ]);
  return {
    up: { redis: queues !== undefined, postgres: fleet !== undefined, quality: quality !== undefined },
    queues: queues ?? [],
    rates: fleet?.[0] ?? [],
    run: fleet?.[1] ?? [],
    wait: fleet?.[2] ?? [],
    quality: quality?.[0] ?? [],
    issues: quality?.[1] ?? [],
    durations: quality?.[2] ?? [],
  };
}

type G = Gauge<string>;
interface MetricConfig<M> {
  name: string;
  help: string;
  labelNames: string[];
  registers: Registry[];
  collect(this: M): Promise<void>;
}

export function prometheusRegistry(src: PrometheusSources): Registry {
  const registry = new Registry();
  let inflight: Promise<Snapshot> | undefined;
  // A scrape calls every metric's collect() at once: they share the snapshot taken while it is in flight.
  const snapshot = () => (inflight ??= takeSnapshot(src).finally(() => (inflight = undefined)));
  // Every metric is filled from the scrape's snapshot: reset, then set what the snapshot holds.
  const collected = <M extends { reset(): void }>(make: (cfg: MetricConfig<M>) => M, name: string, help: string, labelNames: string[], fill: (m: M, s: Snapshot) => void) =>
    make({
      name,
      help,
      labelNames,
      registers: [registry],
      async collect() {
        const s = await snapshot();
        this.reset();
        fill(this, s);
      },
    });
  const gauge = (name: string, help: string, labelNames: string[], fill: (g: G, s: Snapshot) => void) => collected((c) => new Gauge(c), name, help, labelNames, fill);
  const counter = (name: string, help: string, labelNames: string[], fill: (c: Counter<string>, s: Snapshot) => void) => collected((c) => new Counter(c), name, help, labelNames, fill);
  const perSymbol = (name: string, help: string, pick: (q: QualityLatest) => number) =>
    gauge(name, help, ["symbol"], (g, s) => s.quality.forEach((q) => g.set({ symbol: q.symbol }, pick(q))));
  // A gauge over a window, not a Prometheus summary (whose _sum/_count would have to be cumulative):
  // hence `percentile`, not the summary's reserved `quantile` label.
  const percentileGauges = (g: G, ps: Percentiles[]) => {
    for (const p of ps) {
      const queue = p.group.queue ?? "unknown";
      g.set({ queue, percentile: "p50" }, p.p50 / 1000);
      g.set({ queue, percentile: "p95" }, p.p95 / 1000);
      g.set({ queue, percentile: "p99" }, p.p99 / 1000);
    }
  };

  gauge("ta_fleet_scrape_source_up", "1 when the source answered during this scrape.", ["source"], (g, s) => {
    for (const [source, ok] of Object.entries(s.up)) g.set({ source }, ok ? 1 : 0);
  });
  gauge("ta_fleet_queue_jobs", "Jobs per queue and state.", ["queue", "state"], (g, s) => {
    for (const q of s.queues) for (const state of QUEUE_STATES) g.set({ queue: q.queue, state }, q.counts[state] ?? 0);
  });
  gauge("ta_fleet_queue_workers", "Workers connected to the queue.", ["queue"], (g, s) => s.queues.forEach((q) => g.set({ queue: q.queue }, q.workers)));
  gauge("ta_fleet_queue_oldest_waiting_age_seconds", "Age of the oldest waiting job (0 when none waits).", ["queue"], (g, s) =>
    s.queues.forEach((q) => g.set({ queue: q.queue }, q.oldestWaitingAgeSeconds)),
  );
  gauge("ta_fleet_jobs_per_second", `Job attempts ending per second over the last ${WINDOW_SECONDS} s, by outcome.`, ["queue", "outcome"], (g, s) => {
    for (const r of s.rates) g.set({ queue: r.group.queue ?? "unknown", outcome: r.group.outcome ?? "unknown" }, r.perSecond);
  });
  gauge("ta_fleet_job_run_seconds", `Job run time percentiles over the last ${WINDOW_SECONDS} s.`, ["queue", "percentile"], (g, s) => percentileGauges(g, s.run));
  gauge("ta_fleet_job_wait_seconds", `Queue wait percentiles of first attempts over the last ${WINDOW_SECONDS} s.`, ["queue", "percentile"], (g, s) => percentileGauges(g, s.wait));

  // Seed 003's ten quality metrics (newest check per symbol; totals over all checks).
  perSymbol("quality_overall_score", "Overall data quality score (0-100) of the newest check.", (q) => q.overallScore);
  perSymbol("quality_freshness_score", "Data freshness score (0-100).", (q) => q.freshnessScore);
  perSymbol("quality_completeness_score", "Data completeness percentage.", (q) => q.completenessScore);
  perSymbol("quality_outlier_score", "Outlier score (100 = no outliers).", (q) => q.outlierScore);
  counter("quality_outlier_detected_total", "Outliers detected over all checks.", ["symbol"], (c, s) => s.quality.forEach((q) => c.inc({ symbol: q.symbol }, q.outliersTotal)));
  counter("quality_issues_detected_total", "Issues detected over all checks, by severity and type.", ["symbol", "severity", "issue_type"], (c, s) =>
    s.issues.forEach((i) => c.inc({ symbol: i.symbol, severity: i.severity, issue_type: i.issueType }, i.n)),
  );
  gauge("quality_status", "1 for the status of the newest check (excellent/good/fair/poor), else 0.", ["symbol", "status"], (g, s) => {
    for (const q of s.quality) for (const status of QUALITY_STATUSES) g.set({ symbol: q.symbol, status }, q.status === status ? 1 : 0);
  });
  counter("quality_checks_total", "Quality checks performed.", ["symbol"], (c, s) => s.quality.forEach((q) => c.inc({ symbol: q.symbol }, q.checks)));
  registry.registerMetric(durationHistogram(snapshot) as never);
  perSymbol("quality_last_check_timestamp_seconds", "Unix time of the newest check.", (q) => q.checkedAt);
  // Two more figures of the newest check, for the seed's alert rules.
  perSymbol("quality_latest_issues", "Issues found by the newest check.", (q) => q.issueCount);
  perSymbol("quality_stale_seconds", "How far the newest bar lags the expected one at the check.", (q) => q.staleSeconds);
  return registry;
}

/** prom-client's Histogram only observes; this one reports buckets counted by SQL, in the same format. */
function durationHistogram(snapshot: () => Promise<Snapshot>) {
  const name = "quality_check_duration_seconds";
  return {
    name,
    help: "Duration of quality checks.",
    type: "histogram",
    aggregator: "sum",
    async get() {
      const s = await snapshot();
      const values: Array<{ metricName: string; labels: Record<string, string | number>; value: number }> = [];
      for (const q of s.quality) {
        const mine = s.durations.filter((d) => d.symbol === q.symbol);
        for (const d of mine) values.push({ metricName: `${name}_bucket`, labels: { le: d.le, symbol: q.symbol }, value: d.n });
        values.push({ metricName: `${name}_bucket`, labels: { le: "+Inf", symbol: q.symbol }, value: q.checks });
        values.push({ metricName: `${name}_sum`, labels: { symbol: q.symbol }, value: q.durationSumSeconds });
        values.push({ metricName: `${name}_count`, labels: { symbol: q.symbol }, value: q.checks });
      }
      return { name, help: this.help, type: "histogram", values, aggregator: "sum" };
    },
  };
}
