// One daily-refresh run is one trace (asserted by SQL over observability.spans) and one workflow_state row
// whose events follow the run; the run is triggered the way the scheduler does it (a maintenance job).
// Sampling: a sampled-out run still shows its failure on the run page, and metrics do not depend on it.
import type { AddressInfo } from "node:net";
import { Job } from "bullmq";
import express from "express";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { insertMetrics } from "../../db/repos/metrics.ts";
import { workflowHistory } from "../../db/repos/workflow.ts";
import { MetricsCollector } from "../../ops/metrics/collector.ts";
import { initTelemetry, type Telemetry } from "../../ops/telemetry.ts";
import { enqueue } from "../../queues/enqueue.ts";
import { dailyRefresh } from "../../queues/flows/daily-refresh.ts";
import type { JobKind } from "../../queues/kind.ts";
import { backtestKind, flowKind, maintenanceKind, signalKind, stageKind } from "../../queues/registry.ts";
import { PermanentError } from "../../workers/errors.ts";
import { flowProcessor } from "../../workers/flow/index.ts";
import type { JobHooks } from "../../workers/hooks.ts";
import type { Processor } from "../../workers/runtime.ts";
import { opsApi } from "../../apps/web/dashboard/api-ops.ts";
import { samplingPlan } from "../../workers/sampling.ts";
import { telemetryHooks } from "../../workers/telemetry-hooks.ts";
import { workflowRecorder, type WorkflowRecorder } from "../../workers/workflow-hooks.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/db.ts";
import { testFleet, type TestFleet } from "../helpers/fleet.ts";
import { poll } from "../helpers/wait.ts";

const ASSETS = ["AAA", "BBB"];
const SIGNALS = [1, 2];

let db: TestDatabase;
let telemetry: Telemetry;
let metrics: MetricsCollector;
let workflow: WorkflowRecorder;
let hooks: JobHooks;
let tf: TestFleet | undefined;

// Each test: its own database with the telemetry pipeline into it, and its own fleet (startFleet).
beforeEach(async () => {
  db = await createTestDatabase();
  telemetry = initTelemetry({ service: "test-fleet", db: db.pool, scheduledDelayMs: 20 });
  metrics = new MetricsCollector({ component: "test-fleet", write: (rows) => insertMetrics(db.pool, rows) });
  workflow = workflowRecorder(db.pool);
  hooks = telemetryHooks({ tracer: telemetry.tracer, metrics, workflow });
});
afterEach(async () => {
  await tf?.close();
  tf = undefined;
  await workflow?.close();
  await metrics?.close();
  await telemetry?.shutdown();
  await db?.drop();
});

/** The fleet with our hooks on every worker; stage/signal/backtest are stand-ins, flow is the real one. */
async function startFleet(failAt?: string, h: JobHooks = hooks) {
  const t = (tf = testFleet("trace"));
  const maybeFail = (key: string) => {
    if (key === failAt) throw new PermanentError(`injected failure at ${key}`);
  };
  const worker = <K extends JobKind>(kind: K, processor: Processor<K>) => t.worker(kind, processor, { hooks: h });
  await worker(maintenanceKind, async (p, ctx) => {
    if (p.task !== "daily-refresh") throw new Error("unexpected task");
    // What the production maintenance processor does for the scheduler's trigger.
    return { task: p.task, ...(await dailyRefresh(t.fleet, p.assets, p.asOf!, { parent: ctx.trace })) };
  });
  await worker(flowKind, flowProcessor({ fleet: t.fleet, activeSignalIds: async () => SIGNALS }));
  await worker(stageKind, async (p) => {
    maybeFail(`stage:${p.stage}:${p.asset}`);
    return { stage: p.stage, asset: p.asset, rowsWritten: 10 };
  });
  await worker(signalKind, async (p) => ({ signalId: p.signalId, asset: p.asset, signalType: "test", rowsWritten: 1, featureVersionHash: "0", openPositions: 0 }));
  await worker(backtestKind, async () => ({ mode: "signal" as const }));
  return t;
}

/** Triggers the run like the scheduler and waits for its root; returns run id, root job id and trace id. */
async function runDay(t: TestFleet, asOf: string) {
  const trigger = await enqueue(t.fleet, maintenanceKind, { task: "daily-refresh", assets: ASSETS, asOf });
  const result = await poll(async () => (await Job.fromId(t.fleet.queue(maintenanceKind), trigger.id!))?.returnvalue as { runId: string; rootJobId: string } | undefined, "the trigger");
  await poll(async () => {
    const s = await (await Job.fromId(t.fleet.queue(flowKind), result.rootJobId))?.getState();
    return s === "completed" || s === "failed";
  }, "the run root to finish", 30_000);
  await telemetry.forceFlush();
  expect(await workflow.flush(5_000)).toBe(true);
  // The run's trace id as the run page finds it: recorded with the run whether or not its trace was sampled.
  const [state] = await poll(async () => {
    const { rows } = await db.pool.query<{ correlation_id: string }>("SELECT correlation_id FROM observability.workflow_state WHERE workflow_id = $1", [result.runId]);
    return rows.length ? rows : undefined;
  }, "the run's workflow state");
  return { ...result, triggerId: trigger.id!, traceId: state!.correlation_id };
}

describe("one trace per flow run", () => {
  it("every job of a daily-refresh run shares one trace id, with one root and no dangling parent", async () => {
    const t = await startFleet();
    const run = await runDay(t, "2022-11-15");
    const spansOfRun = `SELECT * FROM observability.spans WHERE attributes->>'run.id' = $1 OR attributes->>'job.id' = $2`;
    const { rows } = await db.pool.query(
      `WITH s AS (${spansOfRun})
       SELECT count(DISTINCT trace_id)::int AS traces,
              count(*) FILTER (WHERE parent_span_id IS NULL)::int AS roots,
              count(*) FILTER (WHERE parent_span_id IS NOT NULL
                                 AND NOT EXISTS (SELECT 1 FROM s p WHERE p.trace_id = s.trace_id AND p.span_id = s.parent_span_id))::int AS dangling
       FROM s`,
      [run.runId, run.triggerId],
    );
    const perQueue = await db.pool.query(
      `SELECT jsonb_object_agg(q, n) AS jobs FROM (
         SELECT attributes->>'queue' AS q, count(DISTINCT attributes->>'job.id')::int AS n FROM (${spansOfRun}) s GROUP BY 1) x`,
      [run.runId, run.triggerId],
    );
    expect(rows[0]).toMatchObject({ traces: 1, roots: 1, dangling: 0 });
    // 2 assets × (6 stages; 2 gates + summary; 2 signals; 2 backtests) + the run root + the trigger.
    expect(perQueue.rows[0].jobs).toEqual({ stage: 12, flow: 7, signal: 4, backtest: 4, maintenance: 1 });
    const root = await db.pool.query("SELECT name, trace_id FROM observability.spans WHERE attributes->>'job.id' = $1", [run.triggerId]);
    expect(root.rows[0]).toMatchObject({ name: "maintenance daily-refresh", trace_id: run.traceId });
    // Kind-specific attributes travel with each span.
    const ema = await db.pool.query("SELECT attributes FROM observability.spans WHERE trace_id = $1 AND attributes->>'stage' = 'ema' AND attributes->>'asset' = 'AAA'", [run.traceId]);
    expect(ema.rows[0].attributes).toMatchObject({ queue: "stage", stage: "ema", asset: "AAA", "run.id": run.runId, "rows.written": 10 });
  });

  it("records the run in workflow_state under the trace id, with one event per finished step", async () => {
    const t = await startFleet();
    const run = await runDay(t, "2022-11-16");
    const history = await workflowHistory(db.pool, run.traceId);
    expect(history).toHaveLength(1);
    const [state] = history;
    expect(state).toMatchObject({ workflowId: run.runId, type: "daily-refresh", phase: "done", status: "completed", metadata: { rootJobId: run.rootJobId, assets: { AAA: "completed", BBB: "completed" } } });
    const phases = state!.events.map((e) => `${e.phase}=${e.status}`);
    expect(phases).toContain("enqueued=pending");
    for (const a of ASSETS) {
      for (const step of ["ema", "returns", "volatility", "ta", "gate-indicators", "features", "quality", "gate-strategies", "signal-1", "backtest-2"]) expect(phases).toContain(`${a}:${step}=completed`);
      expect(phases).toContain(`${a}:summary=completed`);
    }
    expect(phases.at(-1)).toBe("done=completed");
  });

  it("a failed stage shows as a failed event and the run ends partial", async () => {
    const t = await startFleet("stage:features:BBB");
    const run = await runDay(t, "2022-11-17");
    const [state] = await workflowHistory(db.pool, run.traceId);
    expect(state).toMatchObject({ status: "partial", phase: "done", metadata: { assets: { AAA: "completed", BBB: "failed" } } });
    expect(state!.events.map((e) => `${e.phase}=${e.status}`)).toEqual(expect.arrayContaining(["BBB:features=failed", "BBB:summary=failed", "AAA:summary=completed"]));
    const failed = await db.pool.query("SELECT status_code, trace_id FROM observability.spans WHERE attributes->>'stage' = 'features' AND attributes->>'asset' = 'BBB' AND attributes->>'run.id' = $1", [run.runId]);
    expect(failed.rows).toEqual([{ status_code: "ERROR", trace_id: run.traceId }]);
  });
});

describe("sampling", () => {
  it("a run whose trace was sampled out still shows its failure: the span, under the run's trace, on the run page", async () => {
    const t = await startFleet("stage:features:BBB", telemetryHooks({ tracer: telemetry.tracer, metrics, workflow, sampling: samplingPlan({ "*": 0 }) }));
    const run = await runDay(t, "2022-11-18");
    const { rows } = await db.pool.query("SELECT trace_id, parent_span_id, status_code, attributes FROM observability.spans WHERE attributes->>'run.id' = $1 OR trace_id = $2", [run.runId, run.traceId]);
    // Only what failed was kept, with the trace id and parent it would have had.
    expect(rows.length).toBeGreaterThan(0);
    for (const r of rows) expect(r).toMatchObject({ trace_id: run.traceId, status_code: "ERROR", attributes: { "sampling.ratio": 0, "sampling.decision": "tail:failed" } });
    const features = rows.find((r) => r.attributes.stage === "features");
    expect(features).toMatchObject({ attributes: { asset: "BBB", "job.outcome": "failed" } });
    expect(features!.parent_span_id).toMatch(/^[0-9a-f]{16}$/);

    // The run page's two requests, served by the dashboard's real routes.
    const app = express().use(opsApi({ db: db.pool, fleet: t.fleet, alerts: { acknowledge: () => Promise.reject(new Error("unused")) }, llmTz: "UTC", readOnly: true, boardPath: "/board" }));
    const server = app.listen(0, "127.0.0.1");
    try {
      await new Promise((r) => server.once("listening", r));
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const page = (await (await fetch(`${base}/runs/${run.runId}`)).json()) as { traceId: string };
      expect(page.traceId).toBe(run.traceId);
      const trace = (await (await fetch(`${base}/traces/${page.traceId}`)).json()) as { rows: Array<{ name: string; status: string; attributes: Record<string, unknown> }> };
      expect(trace.rows).toContainEqual(expect.objectContaining({ name: "stage features", status: "ERROR", attributes: expect.objectContaining({ asset: "BBB" }) }));
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  it("metrics are identical with sampling 0 % and 100 %", async () => {
    const aggregate = async (component: string) => {
      // Counters (outcomes, rows, histogram counts) are exact; durations (_sum, samples) are timings.
      const { rows } = await db.pool.query<{ name: string; labels: string; total: number }>(
        `SELECT metric_name AS name, labels::text AS labels, sum(value)::float8 AS total FROM observability.metrics
         WHERE component = $1 AND metric_type = 'counter' AND metric_name NOT LIKE '%\\_sum' GROUP BY 1, 2 ORDER BY 1, 2`,
        [component],
      );
      return rows;
    };
    // One run observed by both: the same job events, whatever the flow's timing (a gate's control-flow outcomes
    // depend on when its children finish), go to a collector per ratio. Its children carry the 100 % context.
    const [m0, m1] = [0, 1].map((ratio) => new MetricsCollector({ component: `sampled-${ratio}`, write: (rows) => insertMetrics(db.pool, rows), flushMs: 60_000 }));
    const h0 = telemetryHooks({ tracer: telemetry.tracer, metrics: m0!, sampling: samplingPlan({ "*": 0 }) });
    const h1 = telemetryHooks({ tracer: telemetry.tracer, metrics: m1!, workflow, sampling: samplingPlan({ "*": 1 }) });
    const both: JobHooks = {
      onJobStart(job, kind, attributes) {
        const [o0, o1] = [h0.onJobStart(job, kind, attributes), h1.onJobStart(job, kind, attributes)];
        return { context: o1.context, traceId: o1.traceId, end: (outcome, info) => (o0.end(outcome, info), o1.end(outcome, info)) };
      },
    };
    const t = await startFleet("stage:ta:AAA", both);
    await runDay(t, "2022-11-20");
    await t.close();
    tf = undefined;
    await Promise.all([m0!.close(), m1!.close()]);
    const [none, all] = [await aggregate("sampled-0"), await aggregate("sampled-1")];
    expect(none.length).toBeGreaterThan(10);
    expect(none.map((r) => r.name)).toEqual(expect.arrayContaining(["job_outcomes", "job_run_ms_count", "rows_written"]));
    expect(none).toEqual(all);
  });
});
