// PostgreSQL down under load: jobs that do not need the database keep completing, telemetry buffers up to
// its bound and then drops with a counter, nothing crashes, and export resumes without duplicate rows
// when the server returns. The shared test PostgreSQL cannot be stopped, so the exporters write to a
// cluster of this test's own, stopped for 30 s.
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migrate } from "../../db/migrate.ts";
import { createPool, type Pool } from "../../db/pool.ts";
import { insertMetrics } from "../../db/repos/metrics.ts";
import { startPostgres, stopPostgres } from "../../ops/embedded/postgres.ts";
import { MetricsCollector } from "../../ops/metrics/collector.ts";
import { initTelemetry, type Telemetry } from "../../ops/telemetry.ts";
import { isDataError } from "../../ops/bounded-writer.ts";
import { maintenanceKind } from "../../queues/registry.ts";
import { samplingPlan } from "../../workers/sampling.ts";
import { telemetryHooks } from "../../workers/telemetry-hooks.ts";
import { testFleet, type TestFleet } from "../helpers/fleet.ts";
import { freePort } from "../helpers/net.ts";
import { poll } from "../helpers/wait.ts";

const OUTAGE_MS = 30_000;
const MAX_PENDING_SPANS = 200;

let dir: string;
let port: number;
let pool: Pool;
let telemetry: Telemetry;
let metrics: MetricsCollector;
let tf: TestFleet;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "ta-outage-"));
  // The server runs as the postgres OS user, which must be able to enter the directory.
  chmodSync(dir, 0o755);
  port = await freePort();
  const { url } = await startPostgres(dir, port, () => {}, { ephemeral: true });
  pool = createPool(url, { max: 2, statementTimeoutMs: 5_000, onError: () => {} });
  await migrate(pool);
  telemetry = initTelemetry({ service: "outage", db: pool, maxPendingSpans: MAX_PENDING_SPANS, scheduledDelayMs: 20 });
  metrics = new MetricsCollector({ component: "outage", write: (rows) => insertMetrics(pool, rows), isPermanent: isDataError, flushMs: 100, maxPendingRows: 500 });
  tf = testFleet("outage");
}, 120_000);

afterAll(async () => {
  await tf?.close();
  await metrics?.close(1_000);
  await telemetry?.shutdown();
  await pool?.end().catch(() => {});
  if (dir) {
    await stopPostgres(dir).catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }
}, 60_000);

describe("telemetry while PostgreSQL is down", () => {
  it("never blocks or fails jobs, drops past its bound with a count, and resumes without duplicates", async () => {
    let done = 0;
    let sent = 0;
    const w = await tf.worker(maintenanceKind, async (p) => (done++, { task: p.task }), { hooks: telemetryHooks({ tracer: telemetry.tracer, metrics, sampling: samplingPlan({ "maintenance:smoke": 1 }) }), concurrency: 8 });
    const q = tf.fleet.queue(maintenanceKind);
    const batch = async (n: number) => {
      await q.addBulk(Array.from({ length: n }, () => ({ name: "smoke", data: { task: "smoke", id: `j${sent++}`, message: "no database needed" } })));
      await poll(() => done === sent, `${sent} jobs to complete`, 20_000, 10);
    };
    const spanRows = async () => Number((await pool.query("SELECT count(*) AS n FROM observability.spans")).rows[0].n);

    await batch(50);
    await telemetry.forceFlush();
    await poll(async () => (await spanRows()) === 50, "the first 50 spans");

    await stopPostgres(dir);
    const stoppedAt = Date.now();
    // Load for the whole outage: every batch must complete while nothing can be exported.
    while (Date.now() - stoppedAt < OUTAGE_MS) await batch(100);
    // Every span reached the exporter (written before, held, or dropped): none is lost unaccounted.
    const during = await poll(() => {
      const s = telemetry.stats()!;
      return s.written + s.pending + s.dropped === sent ? s : undefined;
    }, "the last spans to reach the exporter");
    expect(during.written).toBe(50);
    expect(during.pending).toBe(MAX_PENDING_SPANS);
    expect(during.dropped).toBe(sent - 50 - MAX_PENDING_SPANS);
    expect(during.failures).toBeGreaterThan(0);
    expect(metrics.stats().dropped).toBeGreaterThan(0);
    expect(metrics.stats().pending).toBeLessThanOrEqual(500);
    expect(w.worker.isRunning()).toBe(true);
    expect(await q.getJobCountByTypes("failed")).toBe(0);

    await startPostgres(dir, port, () => {}, { ephemeral: true });
    const restartedAt = Date.now();
    await telemetry.forceFlush();
    await poll(() => telemetry.stats()!.pending === 0, "the buffered spans to be written", 30_000);
    // The metric rows held during the outage go first (while the buffer is full, new rows are dropped).
    expect(await metrics.flush(10_000)).toBe(true);
    await batch(20);
    await telemetry.forceFlush();
    const expected = 50 + MAX_PENDING_SPANS + 20;
    await poll(async () => (await spanRows()) === expected, `${expected} span rows`, 30_000);
    expect(telemetry.stats()).toMatchObject({ written: expected, pending: 0, dropped: sent - expected });
    // One row per job attempt: nothing was written twice.
    const dup = await pool.query("SELECT attributes->>'job.id' AS id FROM observability.spans GROUP BY 1 HAVING count(*) > 1");
    expect(dup.rows).toEqual([]);
    // Metrics resume too.
    expect(await metrics.flush(10_000)).toBe(true);
    const m = await pool.query("SELECT count(*)::int AS n FROM observability.metrics WHERE metric_name = 'job_outcomes' AND recorded_at >= to_timestamp($1 / 1000.0)", [restartedAt]);
    expect(m.rows[0].n).toBeGreaterThan(0);
  }, 120_000);
});
