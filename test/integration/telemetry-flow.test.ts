// One daily-refresh run is one trace (asserted by SQL over observability.spans) and one workflow_state row
// whose events follow the run; the run is triggered the way the scheduler does it (a maintenance job).
import { Job } from "bullmq";
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
async function startFleet(failAt?: string) {
  const t = (tf = testFleet("trace"));
  const maybeFail = (key: string) => {
    if (key === failAt) throw new PermanentError(`injected failure at ${key}`);
  };
  const worker = <K extends JobKind>(kind: K, processor: Processor<K>) => t.worker(kind, processor, { hooks });
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
  const root = await poll(
    async () => (await db.pool.query<{ trace_id: string }>("SELECT trace_id FROM observability.spans WHERE attributes->>'job.id' = $1", [result.rootJobId])).rows[0],
    "the run root's span",
  );
  expect(await workflow.flush(5_000)).toBe(true);
  return { ...result, triggerId: trigger.id!, traceId: root.trace_id };
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
