// observability.spans in daily partitions: the migration keeps the rows it found, retention drops whole past
// days and never today, stragglers in the default partition move into their day's partition, a batch
// exported twice stays one set of rows, and the scheduled maintenance task does the housekeeping.
import { ROOT_CONTEXT, trace } from "@opentelemetry/api";
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { cpSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MIGRATIONS_DIR, migrate } from "../../db/migrate.ts";
import { createPool, type Pool } from "../../db/pool.ts";
import { traceIdOfJob, traceSpans } from "../../db/repos/dashboard-ops.ts";
import { parseConfig } from "../../ops/config.ts";
import { PgSpanExporter } from "../../ops/telemetry-pg-exporter.ts";
import { schedules } from "../../producers/schedules.ts";
import { enqueue } from "../../queues/enqueue.ts";
import { maintenanceKind } from "../../queues/registry.ts";
import { maintenanceProcessor } from "../../workers/maintenance/index.ts";
import type { ComputePool } from "../../workers/threads/pool.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/db.ts";
import { testFleet, type TestFleet } from "../helpers/fleet.ts";
import { poll } from "../helpers/wait.ts";

let db: TestDatabase;
let tf: TestFleet;

beforeAll(async () => {
  db = await createTestDatabase();
  tf = testFleet("spanparts");
  // span-partitions needs only the database; the compute pool is never touched.
  const deps = { pool: db.pool, fleet: tf.fleet, cfg: parseConfig({}), log: tf.log.log, compute: {} as ComputePool };
  await tf.worker(maintenanceKind, maintenanceProcessor(deps));
});
afterAll(async () => {
  await tf?.close();
  await db?.drop();
});

/** Partition names of observability.spans. */
const partitions = async (pool: Pool = db.pool) =>
  (
    await pool.query<{ name: string }>(
      "SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'observability.spans'::regclass ORDER BY 1",
    )
  ).rows.map((r) => r.name);

/** spans_YYYY_MM_DD of the UTC day `offset` days from today. */
const day = async (offset: number) =>
  (await db.pool.query<{ p: string }>("SELECT 'spans_' || to_char((now() AT TIME ZONE 'UTC')::date + $1::int, 'YYYY_MM_DD') AS p", [offset])).rows[0]!.p;

/** A span row `offsetDays` from now (set up here only to have data on a given day); returns its trace id. */
async function insertSpan(pool: Pool, offsetDays: number, name = "stage ema"): Promise<string> {
  const { rows } = await pool.query<{ trace_id: string }>(
    `INSERT INTO observability.spans (trace_id, span_id, name, service, kind, start_time, end_time, duration_ms, status_code, attributes)
     VALUES (md5(random()::text), left(md5(random()::text), 16), $2, 'worker', 'CONSUMER', now() + make_interval(days => $1), now() + make_interval(days => $1), 1, 'OK', '{"job.id": "x"}')
     RETURNING trace_id`,
    [offsetDays, name],
  );
  return rows[0]!.trace_id.trim();
}

/** The partition holding each row of a trace. */
const homeOf = async (traceId: string) =>
  (await db.pool.query<{ p: string }>("SELECT tableoid::regclass::text AS p FROM observability.spans WHERE trace_id = $1", [traceId])).rows.map((r) => r.p.replace("observability.", ""));

async function runTask(payload: { aheadDays: number; retentionDays: number }) {
  const job = await enqueue(tf.fleet, maintenanceKind, { task: "span-partitions", ...payload });
  return poll(async () => (await tf.fleet.queue(maintenanceKind).getJob(job.id!))?.returnvalue as Record<string, unknown> | undefined, "the span-partitions task");
}

describe("span partitions", () => {
  it("is on the schedule table, hourly, with SPAN_RETENTION_DAYS", () => {
    const s = schedules(parseConfig({ SPAN_RETENTION_DAYS: "5" })).find((x) => x.id === "span-partitions");
    expect(s).toMatchObject({ pattern: "0 25 * * * *", tz: "UTC", payload: { task: "span-partitions", aheadDays: 7, retentionDays: 5 } });
    expect(schedules(parseConfig({})).find((x) => x.id === "span-partitions")?.payload).toMatchObject({ retentionDays: 14 });
  });

  it("the migration moves every existing row into its day's partition", async () => {
    const fresh = await createEmptyDatabase();
    const before = mkdtempSync(join(tmpdir(), "mig031-"));
    try {
      for (const f of readdirSync(MIGRATIONS_DIR).filter((f) => f < "032")) cpSync(join(MIGRATIONS_DIR, f), join(before, f));
      await migrate(fresh.pool, { dir: before });
      const traces = [];
      for (const offset of [-20, -3, 0, 0, 2]) traces.push(await insertSpan(fresh.pool, offset));
      const byTrace = (a: { trace_id: string }, b: { trace_id: string }) => a.trace_id.localeCompare(b.trace_id);
      const old = (await fresh.pool.query("SELECT * FROM observability.spans")).rows.sort(byTrace);

      // 032 first; later migrations follow it.
      expect((await migrate(fresh.pool)).applied[0]).toBe("032_span_partitions.sql");
      const moved = await fresh.pool.query(
        `SELECT *, tableoid::regclass::text AS part, 'observability.spans_' || to_char(start_time AT TIME ZONE 'UTC', 'YYYY_MM_DD') AS home
         FROM observability.spans`,
      );
      const rows = moved.rows.sort(byTrace);
      expect(rows).toHaveLength(traces.length);
      for (const { part, home } of rows) expect(part).toBe(home);
      expect(rows.map(({ part: _part, home: _home, ...row }) => row)).toEqual(old);
      expect((await fresh.pool.query("SELECT to_regclass('observability.spans_031') AS t")).rows[0].t).toBeNull();
      // Yesterday to a week ahead exist too, and the default partition for stragglers.
      expect(await partitions(fresh.pool)).toEqual(expect.arrayContaining(["spans_default", await day(-1), await day(7)]));
    } finally {
      rmSync(before, { recursive: true, force: true });
      await fresh.drop();
    }
  });

  it("retention drops only partitions whose whole day has expired, never today's or a later one", async () => {
    for (const offset of [-20, -2]) await db.pool.query("SELECT observability.create_span_partition((now() AT TIME ZONE 'UTC')::date + $1::int)", [offset]);
    for (const offset of [-20, -2, 0, 1]) await insertSpan(db.pool, offset);
    const [old, twoAgo, yesterday, today, tomorrow] = await Promise.all([-20, -2, -1, 0, 1].map(day));
    expect(await partitions()).toEqual(expect.arrayContaining([old, twoAgo, yesterday, today, tomorrow]));

    const { rows } = await db.pool.query("SELECT * FROM observability.drop_span_partitions(interval '1 day')");
    expect(rows[0]).toEqual({ dropped: 2, deleted: "0" });
    const after = await partitions();
    expect(after).not.toContain(old);
    expect(after).not.toContain(twoAgo);
    expect(after).toEqual(expect.arrayContaining([yesterday, today, tomorrow, "spans_default"]));
    // Even no retention at all keeps today and what comes after.
    await db.pool.query("SELECT * FROM observability.drop_span_partitions(interval '0')");
    expect(await partitions()).toEqual(expect.arrayContaining([today, tomorrow, "spans_default"]));
    expect(await partitions()).not.toContain(yesterday);
    expect((await db.pool.query("SELECT count(*)::int AS n FROM observability.spans")).rows[0].n).toBe(2);
  });

  it("keeps stragglers in the default partition and moves them into their day's partition when it is created", async () => {
    const farAhead = await insertSpan(db.pool, 10);
    const expiredStraggler = await insertSpan(db.pool, -30);
    expect(await homeOf(farAhead)).toEqual(["spans_default"]);
    expect((await db.pool.query("SELECT observability.ensure_span_partitions(12) AS n")).rows[0].n).toBeGreaterThanOrEqual(3);
    expect(await homeOf(farAhead)).toEqual([await day(10)]);
    expect(await homeOf(expiredStraggler)).toEqual(["spans_default"]);
    expect((await db.pool.query("SELECT observability.ensure_span_partitions(12) AS n")).rows[0].n).toBe(0);
    // Retention empties the default partition of what has expired, and only of that.
    const recentStraggler = await insertSpan(db.pool, 30);
    expect((await db.pool.query("SELECT * FROM observability.drop_span_partitions(interval '14 days')")).rows[0]).toMatchObject({ deleted: "1" });
    expect(await homeOf(expiredStraggler)).toEqual([]);
    expect(await homeOf(recentStraggler)).toEqual(["spans_default"]);
  });

  it("stores a batch exported twice once, through COPY, with awkward text intact", async () => {
    const memory = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(memory)] });
    const tracer = provider.getTracer("t");
    const root = tracer.startSpan("flow run", { attributes: { "job.id": "run.copy-test" } });
    tracer.startSpan("tab\there, newline\nthere, back\\slash, nul\0byte", { attributes: { note: 'quote " and \\ and \t' } }, trace.setSpan(ROOT_CONTEXT, root)).end();
    root.end();
    const spans = memory.getFinishedSpans();
    const exporter = new PgSpanExporter(db.pool);
    try {
      exporter.export(spans, () => {});
      await exporter.forceFlush();
      // Again, alone (the COPY hits the key and the batch goes in with ON CONFLICT), and twice in one batch.
      exporter.export(spans, () => {});
      await exporter.forceFlush();
      exporter.export([...spans, ...spans], () => {});
      await exporter.forceFlush();
      expect(exporter.stats()).toMatchObject({ written: 8, dropped: 0, pending: 0 });

      const traceId = root.spanContext().traceId;
      expect(await traceIdOfJob(db.pool, "flow run", "run.copy-test")).toBe(traceId);
      // Both may start in the same millisecond: which comes first is up to their span ids.
      const stored = await traceSpans(db.pool, traceId, 10);
      expect(stored.map((s) => s.name).sort()).toEqual(["flow run", "tab\there, newline\nthere, back\\slash, nulbyte"]);
      const child = stored.find((s) => s.parentSpanId)!;
      expect(child.parentSpanId).toBe(root.spanContext().spanId);
      expect(child.attributes).toEqual({ note: 'quote " and \\ and \t' });
      // Microseconds survive the text round trip.
      const s0 = spans.find((s) => s.parentSpanContext);
      expect(child.startMs).toBeCloseTo(s0!.startTime[0] * 1e3 + Math.floor(s0!.startTime[1] / 1e3) / 1e3, 2);
    } finally {
      await exporter.shutdown();
      await provider.shutdown();
    }
  });

  it("runs as the scheduled maintenance task: creates ahead, drops past retention, idempotently", async () => {
    await db.pool.query("SELECT observability.create_span_partition((now() AT TIME ZONE 'UTC')::date - 40)");
    const expired = await day(-40);
    expect(await partitions()).toContain(expired);
    const first = await runTask({ aheadDays: 20, retentionDays: 14 });
    expect(first).toMatchObject({ task: "span-partitions", dropped: 1 });
    expect(first.created).toBeGreaterThanOrEqual(8);
    const after = await partitions();
    expect(after).not.toContain(expired);
    expect(after).toEqual(expect.arrayContaining([await day(0), await day(20)]));
    expect(await runTask({ aheadDays: 20, retentionDays: 14 })).toEqual({ task: "span-partitions", created: 0, dropped: 0, stragglersDeleted: 0 });
    expect(await partitions()).toEqual(after);
  });
});

/** An empty database (not from the template), dropped by the caller. */
async function createEmptyDatabase() {
  const name = `e_${Math.random().toString(16).slice(2, 10)}`;
  await db.pool.query(`CREATE DATABASE ${name}`);
  const u = new URL(db.url);
  u.pathname = `/${name}`;
  const pool = createPool(u.toString(), { max: 2 });
  return {
    pool,
    async drop() {
      await pool.end();
      await db.pool.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    },
  };
}
