// JSON endpoints of the operational pages: fleet overview, flow runs with their traces, alerts.
import { Router } from "express";
import { counterSeries, listAlerts, percentileSeries, recentWorkflows, traceIdOfJob, traceSpans, workflowWithEvents } from "../../../db/repos/dashboard-ops.ts";
import { getBrief } from "../../../db/repos/research-briefs.ts";
import { JOB_METRICS } from "../../../ops/metrics/names.ts";
import { WORKFLOW_TYPE } from "../../../db/repos/workflow.ts";
import type { DashboardDeps } from "./deps.ts";
import { P, Q, parseParams } from "./params.ts";
import { queueViews, recentFailures } from "./queues-view.ts";
import { recentRunJobs, RUN_SPAN_NAME, runJob, runRootJobId } from "./runs-view.ts";
import { alignSeries, waterfall } from "./shape.ts";
import { sameOriginJson } from "./write-guard.ts";

/** Spans drawn per trace; a bigger trace is cut (and says so). */
export const MAX_SPANS = 2_000;
const TRACE_ID = /^[0-9a-f]{32}$/;

export function opsApi(d: DashboardDeps): Router {
  const r = Router();

  r.get("/fleet/queues", async (req, res) => {
    parseParams(Q.none, req.query);
    res.json({ boardPath: d.boardPath, queues: await queueViews(d.fleet, Date.now() - 3_600_000) });
  });

  r.get("/fleet/series", async (req, res) => {
    const q = parseParams(Q.series, req.query);
    const until = new Date();
    const base = { seriesLabel: "queue", windowSeconds: q.window * 60, bucketSeconds: q.bucket, until };
    const [completed, p95] = await Promise.all([
      counterSeries(d.db, { ...base, name: JOB_METRICS.outcomes, where: { outcome: "completed" } }),
      percentileSeries(d.db, { ...base, name: JOB_METRICS.run, quantile: 0.95 }),
    ]);
    // Completed jobs per bucket → per minute, so the unit does not change with the bucket width.
    const to = until.getTime() / 1000;
    res.json({ window: q.window, bucket: q.bucket, from: to - q.window * 60, until: to, throughputPerMin: alignSeries(completed, 60 / q.bucket), p95RunMs: alignSeries(p95) });
  });

  r.get("/fleet/failures", async (req, res) => {
    const q = parseParams(Q.failures, req.query);
    res.json({ minutes: q.minutes, boardPath: d.boardPath, ...(await recentFailures(d.fleet, Date.now() - q.minutes * 60_000, q.limit)) });
  });

  r.get("/runs", async (req, res) => {
    const { limit } = parseParams(Q.runs, req.query);
    const [jobs, states] = await Promise.all([recentRunJobs(d.fleet, limit), recentWorkflows(d.db, WORKFLOW_TYPE, limit)]);
    const byId = new Map(states.map((s) => [s.workflowId, s]));
    // Runs whose jobs Redis no longer keeps still have their workflow state.
    const runs = [
      ...jobs.map((job) => ({ runId: job.runId, job, workflow: byId.get(job.runId) ?? null })),
      ...states.filter((s) => !jobs.some((j) => j.runId === s.workflowId)).map((s) => ({ runId: s.workflowId, job: null, workflow: s })),
    ];
    const started = (x: (typeof runs)[number]) => x.job?.createdAt ?? x.workflow!.createdAt.getTime();
    res.json({ runs: runs.sort((a, b) => started(b) - started(a)).slice(0, limit) });
  });

  r.get("/runs/:runId", async (req, res) => {
    parseParams(Q.none, req.query);
    const { runId } = parseParams(P.run, req.params);
    const [job, workflow, brief] = await Promise.all([runJob(d.fleet, runId), workflowWithEvents(d.db, runId), getBrief(d.db, runId)]);
    if (!job && !workflow) return void res.status(404).json({ error: `no run ${runId}` });
    // The run's trace: the workflow's correlation id, else the trace of the root job's span.
    const traceId = workflow && TRACE_ID.test(workflow.correlationId) ? workflow.correlationId : await traceIdOfJob(d.db, RUN_SPAN_NAME, runRootJobId(runId));
    res.json({ runId, job: job ?? null, workflow: workflow ?? null, traceId: traceId ?? null, boardPath: d.boardPath, brief: brief ?? null });
  });

  r.get("/traces/:traceId", async (req, res) => {
    parseParams(Q.none, req.query);
    const { traceId } = parseParams(P.trace, req.params);
    const spans = await traceSpans(d.db, traceId, MAX_SPANS + 1);
    res.json({ traceId, truncated: spans.length > MAX_SPANS, ...waterfall(spans.slice(0, MAX_SPANS)) });
  });

  r.get("/alerts", async (req, res) => {
    const q = parseParams(Q.alerts, req.query);
    res.json({ readOnly: d.readOnly, alerts: await listAlerts(d.db, q.state, q.limit) });
  });

  r.post("/alerts/:id/acknowledge", async (req, res) => {
    parseParams(Q.none, req.query);
    const { id } = parseParams(P.alert, req.params);
    if (d.readOnly) return void res.status(403).json({ error: "read-only dashboard (BOARD_READ_ONLY=true): acknowledging is a write action" });
    if (!sameOriginJson(req, res)) return;
    const ack = await d.alerts.acknowledge(id, `web:${String(res.locals.principal)}`);
    if (!ack.ok) return void res.status(409).json({ error: ack.reason });
    res.json({ alertId: id, acknowledgedAt: ack.row.acknowledged_at, acknowledgedBy: ack.row.acknowledged_by });
  });

  return r;
}
