// observability.workflow_state (one row per flow run) and workflow_events (one row per transition).
import type { Pool, PoolClient } from "../pool.ts";

type Db = Pick<Pool | PoolClient, "query">;

/** The workflow type of a daily-refresh run (the only flow recorded in workflow_state so far). */
export const WORKFLOW_TYPE = "daily-refresh";

export type WorkflowStatus = "pending" | "running" | "completed" | "partial" | "failed" | "cancelled";

export interface WorkflowTransition {
  workflowId: string;
  /** The run's trace id: one id leads to its spans, its log lines and this history. */
  correlationId: string;
  type: string;
  phase: string;
  /** The run's status after this transition. */
  status: WorkflowStatus;
  /** What happened in this step (completed, failed, retrying, ...). */
  event: string;
  /** A final transition overrides a run that already looks finished (the run root decides). */
  final?: boolean;
  /** Merged into the run's metadata. */
  metadata?: Record<string, unknown>;
  eventMetadata?: Record<string, unknown>;
}

/**
 * Creates or advances each transition's run and appends its event, in order, in one statement (migration
 * 050's function). A run that reached a final status only changes through another final transition, and a
 * late "pending" never demotes a running run, so transitions recorded out of order by different processes
 * still leave the right state.
 */
export async function recordTransitions(db: Db, ts: readonly WorkflowTransition[]): Promise<void> {
  const batch = ts.map((t) => ({
    workflowId: t.workflowId,
    correlationId: t.correlationId,
    type: t.type,
    phase: t.phase.slice(0, 50),
    status: t.status,
    event: t.event.slice(0, 20),
    final: t.final ?? false,
    metadata: t.metadata ?? {},
    eventMetadata: t.eventMetadata ?? {},
  }));
  await db.query("SELECT observability.record_workflow_transitions($1::jsonb)", [JSON.stringify(batch)]);
}

export interface WorkflowRun {
  workflowId: string;
  type: string;
  phase: string;
  status: WorkflowStatus;
  createdAt: Date;
  updatedAt: Date;
  metadata: Record<string, unknown>;
  events: Array<{ phase: string; status: string; at: string; metadata: Record<string, unknown> }>;
}

/** Every run carrying this correlation (trace) id, each with its transitions in order. */
export async function workflowHistory(db: Db, correlationId: string): Promise<WorkflowRun[]> {
  const { rows } = await db.query<{
    workflow_id: string;
    workflow_type: string;
    current_phase: string;
    status: WorkflowStatus;
    created_at: Date;
    updated_at: Date;
    metadata: Record<string, unknown>;
    events: WorkflowRun["events"];
  }>(
    `SELECT s.workflow_id, s.workflow_type, s.current_phase, s.status, s.created_at, s.updated_at, s.metadata,
            coalesce(jsonb_agg(jsonb_build_object('phase', e.phase, 'status', e.status, 'at', e.recorded_at, 'metadata', e.metadata)
                               ORDER BY e.recorded_at, e.id) FILTER (WHERE e.id IS NOT NULL), '[]'::jsonb) AS events
     FROM observability.workflow_state s LEFT JOIN observability.workflow_events e USING (workflow_id)
     WHERE s.correlation_id = $1
     GROUP BY s.workflow_id ORDER BY s.created_at`,
    [correlationId],
  );
  return rows.map((r) => ({
    workflowId: r.workflow_id,
    type: r.workflow_type,
    phase: r.current_phase,
    status: r.status,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    metadata: r.metadata,
    events: r.events,
  }));
}

export interface WorkflowState {
  status: WorkflowStatus;
  phase: string;
  metadata: Record<string, unknown>;
  updatedAt: Date;
}

/** The recorded state of those of `workflowIds` that have a row, by workflow id (one query for any number). */
export async function workflowStates(db: Db, workflowIds: readonly string[]): Promise<Map<string, WorkflowState>> {
  const { rows } = await db.query<{ workflow_id: string; status: WorkflowStatus; current_phase: string; metadata: Record<string, unknown>; updated_at: Date }>(
    `SELECT workflow_id, status, current_phase, metadata, updated_at FROM observability.workflow_state WHERE workflow_id = ANY($1::text[])`,
    [workflowIds],
  );
  return new Map(rows.map((r) => [r.workflow_id, { status: r.status, phase: r.current_phase, metadata: r.metadata, updatedAt: r.updated_at }]));
}
