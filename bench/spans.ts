// `npm run bench:spans`: PostgreSQL server CPU per stored span, before and after daily partitions and COPY,
// interleaved in one run. BEFORE is the 001 layout (PK (trace_id, span_id) + start_time and name indexes,
// char ids) with the exporter's former INSERT … SELECT FROM unnest, rebuilt in a scratch schema; AFTER is
// the migrated observability.spans written by the real PgSpanExporter. Both get the same kind of spans:
// job-shaped traces of 10–30 spans, a few failures with exception events. A third, interleaved round writes
// metric batches through the production insert: what one worker's collector flushes in an interval.
import { ROOT_CONTEXT, SpanStatusCode, trace, type HrTime } from "@opentelemetry/api";
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { commandLine } from "../apps/command-line.ts";
import { createPool, type Pool } from "../db/pool.ts";
import { PgSpanExporter, Redactor } from "../ops/telemetry-pg-exporter.ts";
import { MetricsCollector, type MetricRow } from "../ops/metrics/collector.ts";
import { JOB_METRICS } from "../ops/metrics/names.ts";
import { insertMetrics } from "../db/repos/metrics.ts";
import { benchEnv } from "./env.ts";
import { pgCpuSampler } from "./pg-cpu.ts";

const N = Number(process.env.BENCH_SPANS ?? 20_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 6);
const BATCH = 500;
const METRIC_BATCHES = 20;
commandLine(
  "bench:spans",
  `Usage: npm run bench:spans\n\nPostgreSQL server CPU (all its processes, from /proc) per span row: the 001 table and INSERT vs the partitioned table and the COPY exporter, ${N} spans × ${ROUNDS} interleaved rounds after a warm-up; and per metric batch (one worker's collector flush), ${METRIC_BATCHES} batches per round. BENCH_SPANS and BENCH_ROUNDS change the size.\n`,
);

const BEFORE_DDL = `
CREATE SCHEMA bench_before;
CREATE TABLE bench_before.spans (
  trace_id char(32) NOT NULL, span_id char(16) NOT NULL, parent_span_id char(16), name text NOT NULL, service text NOT NULL,
  kind text NOT NULL, start_time timestamptz NOT NULL, end_time timestamptz NOT NULL, duration_ms double precision NOT NULL,
  status_code text NOT NULL CHECK (status_code IN ('UNSET', 'OK', 'ERROR')), status_message text,
  attributes jsonb NOT NULL DEFAULT '{}', events jsonb NOT NULL DEFAULT '[]', PRIMARY KEY (trace_id, span_id));
CREATE INDEX ON bench_before.spans (start_time DESC);
CREATE INDEX ON bench_before.spans (name, start_time DESC);`;

const BEFORE_INSERT = `
INSERT INTO bench_before.spans
  (trace_id, span_id, parent_span_id, name, service, kind, start_time, end_time, duration_ms, status_code, status_message, attributes, events)
SELECT u.t, u.s, u.p, u.n, u.sv, u.k, to_timestamp(u.st), to_timestamp(u.et), u.d, u.sc, u.sm, a.value, e.value
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::float8[], $8::float8[], $9::float8[],
            $10::text[], $11::text[]) WITH ORDINALITY AS u(t, s, p, n, sv, k, st, et, d, sc, sm, i)
JOIN jsonb_array_elements($12::jsonb) WITH ORDINALITY AS a(value, i) USING (i)
JOIN jsonb_array_elements($13::jsonb) WITH ORDINALITY AS e(value, i) USING (i)
ON CONFLICT (trace_id, span_id) DO NOTHING`;

const seconds = (t: HrTime) => t[0] + t[1] / 1e9;

const redact = new Redactor();

/** The former exporter's rows and statement parameters for a batch, redaction included like it did. */
function beforeParams(spans: ReadableSpan[]): unknown[] {
  const rows = spans.map((s) => [
    s.spanContext().traceId,
    s.spanContext().spanId,
    s.parentSpanContext?.spanId ?? null,
    s.name,
    String(s.resource.attributes["service.name"]),
    ["INTERNAL", "SERVER", "CLIENT", "PRODUCER", "CONSUMER"][s.kind]!,
    seconds(s.startTime),
    seconds(s.endTime),
    s.duration[0] * 1e3 + s.duration[1] / 1e6,
    ["UNSET", "OK", "ERROR"][s.status.code]!,
    s.status.message ? redact.text(s.status.message) : null,
    redact.attributesJson(s.attributes),
    s.events.length ? JSON.stringify(s.events.map((e) => ({ name: e.name, time: seconds(e.time), ...(e.attributes ? { attributes: redact.attributes(e.attributes) } : {}) }))) : "[]",
  ]);
  const col = (c: number) => rows.map((r) => r[c]);
  const literal = (c: number) => `{${rows.map((r) => r[c] ?? "NULL").join(",")}}`;
  const json = (c: number) => `[${rows.map((r) => r[c]).join(",")}]`;
  return [literal(0), literal(1), literal(2), col(3), col(4), literal(5), literal(6), literal(7), literal(8), literal(9), col(10), json(11), json(12)];
}

const memory = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ resource: resourceFromAttributes({ "service.name": "worker" }), spanProcessors: [new SimpleSpanProcessor(memory)] });
const tracer = provider.getTracer("bench");
const STAGES = ["ema", "rsi", "macd", "features", "quality", "signals"];

/** `n` spans shaped like a daily-refresh run's: a root job span and its stage / signal children. */
function makeSpans(n: number): ReadableSpan[] {
  memory.reset();
  let made = 0;
  while (made < n) {
    const runId = Math.random().toString(36).slice(2, 10);
    const root = tracer.startSpan("flow run", { attributes: { queue: "flow", "job.name": "run", "job.id": `run.${runId}`, attempt: 1, "run.id": runId } });
    const ctx = trace.setSpan(ROOT_CONTEXT, root);
    const size = Math.min(n - made, 10 + Math.floor(Math.random() * 21)) - 1;
    for (let i = 0; i < size; i++) {
      const stage = STAGES[i % STAGES.length]!;
      const asset = ["BTC-USD", "ETH-USD", "SPY", "AAPL"][i % 4]!;
      const child = tracer.startSpan(`stage ${stage}`, {
        attributes: { queue: "stage", "job.name": stage, "job.id": `stage.${runId}.${asset}.${stage}.${i}`, attempt: 1, asset, stage, "run.id": runId, "rows.written": 250 + i },
      }, ctx);
      if (Math.random() < 0.02) {
        child.recordException(new Error(`provider timed out after 30000 ms (${asset})`));
        child.setStatus({ code: SpanStatusCode.ERROR, message: "provider timed out" });
        child.setAttribute("job.outcome", "retrying");
      } else child.setAttribute("job.outcome", "completed");
      child.end();
    }
    root.setAttribute("job.outcome", "completed");
    root.end();
    made += size + 1;
  }
  return memory.getFinishedSpans().slice();
}

/**
 * One collector flush of a worker busy on a daily refresh: 8 (queue, job) series, each with its outcome and
 * rows counters and wait / run / attempts histograms (count, sum and up to 64 samples each).
 */
async function metricBatch(): Promise<MetricRow[]> {
  let batch: MetricRow[] = [];
  const c = new MetricsCollector({ component: "worker", flushMs: 3_600_000, write: async (rows) => void (batch = rows) });
  const jobs = [["stage", "ema"], ["stage", "returns"], ["stage", "volatility"], ["stage", "ta"], ["stage", "features"], ["stage", "quality"], ["signal", "signal"], ["backtest", "signal"]] as const;
  for (const [queue, job] of jobs) {
    const labels = { queue, job };
    c.counter(JOB_METRICS.outcomes, { ...labels, outcome: "completed" }).inc(200);
    c.counter(JOB_METRICS.rows, labels).inc(200 * 3_650);
    for (const name of [JOB_METRICS.wait, JOB_METRICS.run, JOB_METRICS.attempts]) {
      const h = c.histogram(name, labels);
      for (let i = 0; i < 200; i++) h.observe(Math.random() * 1_000);
    }
  }
  await c.close();
  return batch;
}

async function before(pool: Pool, spans: ReadableSpan[]): Promise<void> {
  for (let i = 0; i < spans.length; i += BATCH) await pool.query(BEFORE_INSERT, beforeParams(spans.slice(i, i + BATCH)));
}

async function after(exporter: PgSpanExporter, spans: ReadableSpan[]): Promise<void> {
  exporter.export(spans, () => {});
  while (exporter.stats().pending > 0) {
    await exporter.forceFlush();
    if (exporter.stats().failures) throw new Error(`span export failed: ${exporter.stats().lastError}`);
  }
}

const env = await benchEnv("spans");
// Like production: the exporter has a small pool of its own.
const exportPool = createPool(env.databaseUrl, { max: 2, applicationName: "bench-spans-exporter" });
const exporter = new PgSpanExporter(exportPool, { maxPending: N });
await env.pool.query(BEFORE_DDL);
type Mode = "before" | "after";
const MODES: Mode[] = ["before", "after"];
const pgUs: Record<Mode, number[]> = { before: [], after: [] };
const clientUs: Record<Mode, number[]> = { before: [], after: [] };
const batch = await metricBatch();
const pgUsPerBatch: number[] = [];

async function metricsRound(record: boolean): Promise<void> {
  const stop = await pgCpuSampler(env.pool);
  for (let i = 0; i < METRIC_BATCHES; i++) await insertMetrics(env.pool, batch);
  const pg = await stop();
  if (record) pgUsPerBatch.push((pg * 1e6) / METRIC_BATCHES);
}

async function round(mode: Mode, record: boolean): Promise<void> {
  const spans = makeSpans(N);
  const stop = await pgCpuSampler(env.pool);
  const c0 = process.cpuUsage();
  await (mode === "before" ? before(env.pool, spans) : after(exporter, spans));
  const c = process.cpuUsage(c0);
  const pg = await stop();
  if (!record) return;
  pgUs[mode].push((pg * 1e6) / N);
  clientUs[mode].push((c.user + c.system) / N);
}

console.log(`bench:spans: ${N} spans × 2 layouts × ${ROUNDS} interleaved rounds after a warm-up`);
try {
  for (const m of MODES) await round(m, false); // warm-up: connections, caches, first index pages
  await metricsRound(false);
  for (let r = 0; r < ROUNDS; r++) {
    // Alternate which goes first, so drift in machine load favours neither.
    for (const m of r % 2 ? [...MODES].reverse() : MODES) await round(m, true);
    await metricsRound(true);
    console.log(
      `round ${r + 1}: PostgreSQL CPU per span before ${pgUs.before.at(-1)!.toFixed(1)} µs, after ${pgUs.after.at(-1)!.toFixed(1)} µs; per metric batch of ${batch.length} rows ${(pgUsPerBatch.at(-1)! / 1000).toFixed(2)} ms`,
    );
  }
  const stats = exporter.stats();
  if (stats.dropped || stats.failures) throw new Error(`the exporter dropped ${stats.dropped} spans (${stats.failures} failed writes: ${stats.lastError})`);
  const { rows } = await env.pool.query<{ before: string; after: string; nb: string; na: string }>(
    `SELECT pg_total_relation_size('bench_before.spans') AS before,
            (SELECT sum(pg_total_relation_size(inhrelid)) FROM pg_inherits WHERE inhparent = 'observability.spans'::regclass) AS after,
            (SELECT count(*) FROM bench_before.spans) AS nb, (SELECT count(*) FROM observability.spans) AS na`,
  );
  const size = rows[0]!;
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const us = (xs: number[]) => Number(median(xs).toFixed(1));
  const result = {
    bench: "spans",
    pg_cpu_us_per_span_before: us(pgUs.before),
    pg_cpu_us_per_span_after: us(pgUs.after),
    // Medians of each round's own ratio: both modes of a round saw the same load.
    pg_cpu_ratio: Number(median(pgUs.after.map((a, i) => a / pgUs.before[i]!)).toFixed(3)),
    client_cpu_us_per_span_before: us(clientUs.before),
    client_cpu_us_per_span_after: us(clientUs.after),
    bytes_per_span_before: Math.round(Number(size.before) / Number(size.nb)),
    bytes_per_span_after: Math.round(Number(size.after) / Number(size.na)),
    // One worker's collector flush (see metricBatch), through the production insert.
    metric_batch_rows: batch.length,
    pg_cpu_us_per_metric_batch: us(pgUsPerBatch),
    pg_cpu_us_per_metric_row: Number((median(pgUsPerBatch) / batch.length).toFixed(2)),
    spans_per_round: N,
    rounds: ROUNDS,
  };
  console.log(JSON.stringify(result));
} finally {
  await exporter.shutdown();
  await exportPool.end();
  await provider.shutdown();
  await env.close();
}
