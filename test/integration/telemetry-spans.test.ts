// Spans and job metrics from real workers into a real PostgreSQL: parent links across jobs, retries as
// new spans of the same trace, secrets kept out, re-exports without duplicates, no housekeeping traces.
import { ROOT_CONTEXT, trace } from "@opentelemetry/api";
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { insertMetrics, percentiles, rates } from "../../db/repos/metrics.ts";
import { MetricsCollector } from "../../ops/metrics/collector.ts";
import { initTelemetry, type Telemetry } from "../../ops/telemetry.ts";
import { PgSpanExporter } from "../../ops/telemetry-pg-exporter.ts";
import { enqueue } from "../../queues/enqueue.ts";
import { maintenanceKind } from "../../queues/registry.ts";
import { PermanentError } from "../../workers/errors.ts";
import type { JobHooks } from "../../workers/hooks.ts";
import { samplingPlan } from "../../workers/sampling.ts";
import { telemetryHooks } from "../../workers/telemetry-hooks.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/db.ts";
import { testFleet, type TestFleet } from "../helpers/fleet.ts";
import { poll } from "../helpers/wait.ts";

const SECRET = "s3cr3t-Pa55w0rd-value";
// The shape of a Telegram bot token (bot id, colon, 35 characters), not a real one.
const BOT_TOKEN = `123456789:${"F".repeat(35)}`;
let db: TestDatabase;
let telemetry: Telemetry;
let metrics: MetricsCollector;
let hooks: JobHooks;
let tf: TestFleet;

// Each test: its own database, telemetry pipeline into it, and queue prefix.
beforeEach(async () => {
  tf = testFleet("otel");
  db = await createTestDatabase();
  telemetry = initTelemetry({ service: "test-worker", db: db.pool, secrets: [SECRET], scheduledDelayMs: 20 });
  metrics = new MetricsCollector({ component: "test-worker", write: (rows) => insertMetrics(db.pool, rows), flushMs: 60_000 });
  // Smoke jobs stand for any traced job here (their default ratio is 1 %); housekeeping is never sampled.
  hooks = telemetryHooks({ tracer: telemetry.tracer, metrics, sampling: samplingPlan({ "maintenance:smoke": 1, "maintenance:metrics-partitions": 0 }) });
});
afterEach(async () => {
  await tf?.close();
  await metrics?.close();
  await telemetry?.shutdown();
  await db?.drop();
});

interface SpanRow {
  trace_id: string;
  span_id: string;
  parent_span_id: string | null;
  name: string;
  service: string;
  kind: string;
  status_code: string;
  status_message: string | null;
  attributes: Record<string, unknown>;
  events: Array<{ name: string; attributes?: Record<string, unknown> }>;
}

async function spansOf(traceId: string, atLeast: number): Promise<SpanRow[]> {
  await telemetry.forceFlush();
  return poll(async () => {
    const { rows } = await db.pool.query<SpanRow>("SELECT * FROM observability.spans WHERE trace_id = $1 ORDER BY start_time, span_id", [traceId]);
    return rows.length >= atLeast ? rows : undefined;
  }, `${atLeast} spans of trace ${traceId}`);
}

const finished = (id: string) => poll(async () => (await tf.fleet.queue(maintenanceKind).getJob(id))?.finishedOn, `job ${id} to finish`);

describe("job spans in PostgreSQL", () => {
  it("links producer → job attempts → child job in one trace; each retry is a new span with its attempt", async () => {
    await tf.worker(
      maintenanceKind,
      async (p, ctx) => {
        if (p.task === "smoke" && p.id === "flaky") {
          if (ctx.attempt < 3) throw new Error(`flaky attempt ${ctx.attempt}`);
          await enqueue(tf.fleet, maintenanceKind, { task: "smoke", id: "child", message: "from the third attempt" }, {}, ctx.trace);
        }
        return { task: p.task };
      },
      { hooks },
    );
    const producer = telemetry.tracer.startSpan("producer test");
    await enqueue(tf.fleet, maintenanceKind, { task: "smoke", id: "flaky", message: "m" }, { backoff: { type: "fixed", delay: 20 } }, trace.setSpan(ROOT_CONTEXT, producer));
    producer.end();
    await finished("smoke.child");
    const { traceId, spanId: producerId } = producer.spanContext();
    const spans = await spansOf(traceId, 5);
    expect(spans).toHaveLength(5);
    expect(spans[0]).toMatchObject({ span_id: producerId, parent_span_id: null, name: "producer test", service: "test-worker" });
    const attempts = spans.filter((s) => s.attributes["job.id"] === "smoke.flaky");
    expect(attempts.map((s) => s.attributes.attempt)).toEqual([1, 2, 3]);
    for (const s of attempts) {
      expect(s).toMatchObject({ parent_span_id: producerId, name: "maintenance smoke", kind: "CONSUMER", service: "test-worker" });
      expect(s.attributes).toMatchObject({ queue: "maintenance", "job.name": "smoke" });
    }
    expect(attempts.map((s) => [s.status_code, s.attributes["job.outcome"]])).toEqual([
      ["ERROR", "retrying"],
      ["ERROR", "retrying"],
      ["OK", "completed"],
    ]);
    expect(attempts[0]!.status_message).toBe("flaky attempt 1");
    expect(attempts[0]!.events[0]).toMatchObject({ name: "exception", attributes: { "exception.message": "flaky attempt 1" } });
    const child = spans.find((s) => s.attributes["job.id"] === "smoke.child");
    expect(child?.parent_span_id).toBe(attempts[2]!.span_id);
    // The trace id is the correlation id of the job's log lines.
    const failures = tf.log.records().filter((r) => r.msg === "job failed");
    expect(failures).toHaveLength(2);
    for (const r of failures) expect(r.traceId).toBe(traceId);
  });

  it("keeps secrets out of attributes, exception events and status messages", async () => {
    await tf.worker(
      maintenanceKind,
      async () => {
        throw new PermanentError(`cannot reach postgres://fleet:${SECRET}@db/ta with bot ${BOT_TOKEN}`);
      },
      { hooks, attributes: () => ({ "bot.token": BOT_TOKEN, note: `password is ${SECRET}` }) },
    );
    await enqueue(tf.fleet, maintenanceKind, { task: "smoke", id: "leaky", message: "m" });
    await finished("smoke.leaky");
    await telemetry.forceFlush();
    const row = await poll(async () => (await db.pool.query<SpanRow>("SELECT * FROM observability.spans WHERE attributes->>'job.id' = 'smoke.leaky'")).rows[0], "the failed span");
    expect(row.status_code).toBe("ERROR");
    const stored = JSON.stringify(row);
    expect(stored).not.toContain(SECRET);
    expect(stored).not.toContain(BOT_TOKEN);
    expect(row.attributes["bot.token"]).toBe("[redacted]");
    expect(row.status_message).toContain("postgres://fleet:[redacted]@db/ta");
  });

  it("records job metrics the query helpers read back, and no span for an unsampled job that succeeds", async () => {
    await tf.worker(maintenanceKind, async (p) => ({ task: p.task }), { hooks, concurrency: 8 });
    const completed = async () => {
      await metrics.flush();
      const r = await rates(db.pool, { name: "job_outcomes", windowSeconds: 300, where: { queue: "maintenance", outcome: "completed" }, groupBy: ["job"] });
      return Object.fromEntries(r.map((x) => [x.group.job, x.total]));
    };
    const ids = Array.from({ length: 20 }, (_, i) => `m${i}`);
    for (const id of ids) await enqueue(tf.fleet, maintenanceKind, { task: "smoke", id, message: "m" });
    const housekeeping = await enqueue(tf.fleet, maintenanceKind, { task: "metrics-partitions", ahead: 1, retentionDays: 30 });
    for (const id of ids) await finished(`smoke.${id}`);
    await finished(housekeeping.id!);
    expect(await completed()).toEqual({ smoke: 20, "metrics-partitions": 1 });
    const [run] = await percentiles(db.pool, { name: "job_run_ms", windowSeconds: 300, where: { job: "smoke" }, groupBy: ["queue"] });
    expect(run).toMatchObject({ group: { queue: "maintenance" }, n: 20 });
    expect(run!.p50).toBeLessThanOrEqual(run!.p95);
    expect(run!.p95).toBeLessThanOrEqual(run!.p99);
    await telemetry.forceFlush();
    const { rows } = await db.pool.query("SELECT count(*)::int AS n FROM observability.spans WHERE attributes->>'job.name' = 'metrics-partitions'");
    expect(rows[0].n).toBe(0);
  });

  it("computes percentiles with percentile_cont and rates over the window", async () => {
    const h = metrics.histogram("test_latency_ms", { route: "a" });
    for (let v = 1; v <= 50; v++) h.observe(v);
    metrics.counter("test_requests", { route: "a" }).inc(600);
    expect(await metrics.flush()).toBe(true);
    const [p] = await percentiles(db.pool, { name: "test_latency_ms", windowSeconds: 60, groupBy: ["route"] });
    expect(p).toMatchObject({ group: { route: "a" }, n: 50, p50: 25.5 });
    expect(p!.p95).toBeCloseTo(47.55, 6);
    expect(p!.p99).toBeCloseTo(49.51, 6);
    const [r] = await rates(db.pool, { name: "test_requests", windowSeconds: 60, groupBy: ["route"] });
    expect(r).toMatchObject({ group: { route: "a" }, total: 600, perSecond: 10 });
    // Outside the window: nothing.
    expect(await rates(db.pool, { name: "test_requests", windowSeconds: 60, until: new Date(Date.now() - 3_600_000) })).toEqual([]);
  });

  it("stores a re-exported batch once (the key: trace id, start time, span id)", async () => {
    const memory = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(memory)] });
    const tracer = provider.getTracer("t");
    const root = tracer.startSpan("root");
    for (const name of ["a", "b"]) tracer.startSpan(name, {}, trace.setSpan(ROOT_CONTEXT, root)).end();
    root.end();
    const spans = memory.getFinishedSpans();
    const exporter = new PgSpanExporter(db.pool);
    for (let i = 0; i < 2; i++) exporter.export(spans, () => {});
    await exporter.forceFlush();
    expect(exporter.stats()).toMatchObject({ written: 6, dropped: 0, pending: 0 });
    const { rows } = await db.pool.query("SELECT name FROM observability.spans WHERE trace_id = $1 ORDER BY name", [root.spanContext().traceId]);
    expect(rows.map((r) => r.name)).toEqual(["a", "b", "root"]);
    await exporter.shutdown();
    await provider.shutdown();
  });
});
