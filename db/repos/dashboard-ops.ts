// Read side of the ops dashboard (apps/web/dashboard): metric series over time, flow runs, traces, alerts.
// Label keys, metric names and filters are all values; no identifier is ever interpolated.
import type { Pool, PoolClient } from "../pool.ts";

type Db = Pick<Pool | PoolClient, "query">;

export interface SeriesQuery {
  name: string;
  /** Only rows whose labels contain these. */
  where?: Record<string, string>;
  /** The label whose values name the series (e.g. "queue"). */
  seriesLabel: string;
  windowSeconds: number;
  bucketSeconds: number;
  /** End of the window; defaults to now. */
  until?: Date;
}

export interface SeriesPoint {
  /** Start of the bucket, epoch seconds. */
  t: number;
  series: string | null;
  value: number;
}

const BUCKETED = `
  FROM observability.metrics
  WHERE metric_name = $1 AND metric_type = $7 AND labels @> $2::jsonb
    AND recorded_at > coalesce($6::timestamptz, now()) - make_interval(secs => $3)
    AND recorded_at <= coalesce($6::timestamptz, now())
  GROUP BY 1, 2 ORDER BY 1, 2`;
const BUCKET = `(floor(extract(epoch FROM recorded_at) / $4::float8) * $4::float8)::float8`;

const seriesArgs = (q: SeriesQuery, type: string) => [q.name, JSON.stringify(q.where ?? {}), q.windowSeconds, q.bucketSeconds, q.seriesLabel, q.until ?? null, type];

/** Sum of a counter's increases per time bucket and series. */
export async function counterSeries(db: Db, q: SeriesQuery): Promise<SeriesPoint[]> {
  const { rows } = await db.query<SeriesPoint>(`SELECT ${BUCKET} AS t, labels->>$5 AS series, sum(value)::float8 AS value ${BUCKETED}`, seriesArgs(q, "counter"));
  return rows;
}

/** A percentile (0..1) of a histogram's observations per time bucket and series. */
export async function percentileSeries(db: Db, q: SeriesQuery & { quantile: number }): Promise<SeriesPoint[]> {
  const { rows } = await db.query<SeriesPoint>(
    `SELECT ${BUCKET} AS t, labels->>$5 AS series, percentile_cont($8::float8) WITHIN GROUP (ORDER BY value) AS value ${BUCKETED}`,
    [...seriesArgs(q, "histogram"), q.quantile],
  );
  return rows;
}

export interface WorkflowRow {
  workflowId: string;
  correlationId: string;
  type: string;
  phase: string;
  status: string;
  createdAt: Date;
  updatedAt: Date;
  metadata: Record<string, unknown>;
}

const WORKFLOW_COLUMNS = `workflow_id AS "workflowId", correlation_id AS "correlationId", workflow_type AS type, current_phase AS phase,
  status, created_at AS "createdAt", updated_at AS "updatedAt", metadata`;

/** The newest runs of a workflow type. */
export async function recentWorkflows(db: Db, type: string, limit: number): Promise<WorkflowRow[]> {
  const { rows } = await db.query<WorkflowRow>(
    `SELECT ${WORKFLOW_COLUMNS} FROM observability.workflow_state WHERE workflow_type = $1 ORDER BY created_at DESC LIMIT $2`,
    [type, limit],
  );
  return rows;
}

export interface WorkflowEvent {
  phase: string;
  status: string;
  at: string;
  metadata: Record<string, unknown>;
}

/** One run with its transitions in order. */
export async function workflowWithEvents(db: Db, workflowId: string): Promise<(WorkflowRow & { events: WorkflowEvent[] }) | undefined> {
  const { rows } = await db.query<WorkflowRow & { events: WorkflowEvent[] }>(
    `SELECT ${WORKFLOW_COLUMNS},
            coalesce((SELECT jsonb_agg(jsonb_build_object('phase', e.phase, 'status', e.status, 'at', e.recorded_at, 'metadata', e.metadata)
                                       ORDER BY e.recorded_at, e.id)
                      FROM observability.workflow_events e WHERE e.workflow_id = $1), '[]'::jsonb) AS events
     FROM observability.workflow_state WHERE workflow_id = $1`,
    [workflowId],
  );
  return rows[0];
}

/** The trace of the first span of a job (span name "<queue> <job name>", attribute job.id). */
export async function traceIdOfJob(db: Db, spanName: string, jobId: string): Promise<string | undefined> {
  const { rows } = await db.query<{ trace_id: string }>(
    `SELECT trace_id FROM observability.spans WHERE name = $1 AND attributes->>'job.id' = $2 ORDER BY start_time LIMIT 1`,
    [spanName, jobId],
  );
  return rows[0]?.trace_id;
}

export interface SpanRow {
  spanId: string;
  parentSpanId: string | null;
  name: string;
  service: string;
  kind: string;
  /** Epoch milliseconds. */
  startMs: number;
  durationMs: number;
  status: "UNSET" | "OK" | "ERROR";
  statusMessage: string | null;
  attributes: Record<string, unknown>;
  events: unknown[];
}

/** The spans of a trace in start order, at most `limit`. */
export async function traceSpans(db: Db, traceId: string, limit: number): Promise<SpanRow[]> {
  const { rows } = await db.query<SpanRow>(
    `SELECT span_id AS "spanId", parent_span_id AS "parentSpanId", name, service, kind,
            extract(epoch FROM start_time)::float8 * 1000 AS "startMs", duration_ms AS "durationMs",
            status_code AS status, status_message AS "statusMessage", attributes, events
     FROM observability.spans WHERE trace_id = $1 ORDER BY start_time, span_id LIMIT $2`,
    [traceId, limit],
  );
  return rows;
}

export type AlertState = "open" | "resolved" | "all";

export interface AlertListRow {
  alertId: number;
  key: string;
  type: string;
  severity: string;
  component: string;
  title: string;
  message: string;
  threshold: number | null;
  value: number | null;
  triggeredAt: Date;
  lastSeenAt: Date;
  repeatCount: number;
  resolvedAt: Date | null;
  acknowledgedAt: Date | null;
  acknowledgedBy: string | null;
  deliveryStatus: string;
}

/** Alerts by state: open ones first, newest first. */
export async function listAlerts(db: Db, state: AlertState, limit: number): Promise<AlertListRow[]> {
  const { rows } = await db.query<AlertListRow>(
    `SELECT alert_id::float8 AS "alertId", alert_key AS key, alert_type AS type, severity, component, title, message,
            threshold_value AS threshold, current_value AS value, triggered_at AS "triggeredAt", last_seen_at AS "lastSeenAt",
            repeat_count AS "repeatCount", resolved_at AS "resolvedAt", acknowledged_at AS "acknowledgedAt",
            acknowledged_by AS "acknowledgedBy", delivery_status AS "deliveryStatus"
     FROM observability.alerts
     WHERE $1 = 'all' OR ($1 = 'open') = (resolved_at IS NULL)
     ORDER BY (resolved_at IS NULL) DESC, triggered_at DESC, alert_id DESC LIMIT $2`,
    [state, limit],
  );
  return rows;
}
