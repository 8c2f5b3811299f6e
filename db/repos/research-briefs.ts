// research_briefs: one row per daily-refresh run linking it to its brief's LLM task, with the prompt, the
// answer and the Telegram delivery (parts sent per chat). One statement per function.
import type { Pool, PoolClient } from "../pool.ts";

type Db = Pick<Pool | PoolClient, "query">;

export type BriefStatus = "pending" | "completed" | "failed";
export type BriefDeliveryStatus = "pending" | "delivered" | "failed" | "disabled";

export interface BriefRow {
  runId: string;
  asOf: string;
  taskId: string;
  status: BriefStatus;
  prompt: string;
  output: string | null;
  provider: string | null;
  model: string | null;
  error: string | null;
  parts: number | null;
  /** Per chat id: how many parts Telegram accepted. */
  deliveredParts: Record<string, number>;
  deliveryStatus: BriefDeliveryStatus;
  deliveryError: string | null;
  /** Delivery claims so far (the outbox's backoff grows with them). */
  deliveryAttempts: number;
  createdAt: Date;
  completedAt: Date | null;
}

type Raw = {
  run_id: string; as_of: string; task_id: string; status: BriefStatus; prompt: string; output: string | null; provider: string | null; model: string | null;
  error: string | null; parts: number | null; delivered_parts: Record<string, number>; delivery_status: BriefDeliveryStatus; delivery_error: string | null;
  delivery_attempts: number; created_at: Date; completed_at: Date | null;
};
const COLUMNS = `run_id, to_char(as_of, 'YYYY-MM-DD') AS as_of, task_id, status, prompt, output, provider, model, error, parts, delivered_parts,
  delivery_status, delivery_error, delivery_attempts, created_at, completed_at`;
const toRow = (r: Raw): BriefRow => ({
  runId: r.run_id,
  asOf: r.as_of,
  taskId: r.task_id,
  status: r.status,
  prompt: r.prompt,
  output: r.output,
  provider: r.provider,
  model: r.model,
  error: r.error,
  parts: r.parts,
  deliveredParts: r.delivered_parts,
  deliveryStatus: r.delivery_status,
  deliveryError: r.delivery_error,
  deliveryAttempts: r.delivery_attempts,
  createdAt: r.created_at,
  completedAt: r.completed_at,
});

/** Records the brief's prompt (pending); a completed brief is returned as it is (a re-run does not rebuild it). */
export async function beginBrief(db: Db, b: { runId: string; asOf: string; taskId: string; prompt: string }): Promise<BriefRow> {
  const { rows } = await db.query<Raw>(
    `INSERT INTO research_briefs AS r (run_id, as_of, task_id, status, prompt) VALUES ($1, $2::date, $3, 'pending', $4)
     ON CONFLICT (run_id) DO UPDATE SET
       prompt = CASE WHEN r.status = 'completed' THEN r.prompt ELSE EXCLUDED.prompt END,
       status = CASE WHEN r.status = 'completed' THEN r.status ELSE 'pending' END,
       error = CASE WHEN r.status = 'completed' THEN r.error ELSE NULL END
     RETURNING ${COLUMNS}`,
    [b.runId, b.asOf, b.taskId, b.prompt],
  );
  return toRow(rows[0]!);
}

/** Stores the answer and how many Telegram parts it makes. */
export async function completeBrief(db: Db, runId: string, a: { output: string; provider: string; model: string; parts: number }): Promise<void> {
  await db.query(
    `UPDATE research_briefs SET status = 'completed', output = $2, provider = $3, model = $4, parts = $5, error = NULL, completed_at = now()
     WHERE run_id = $1 AND status <> 'completed'`,
    [runId, a.output, a.provider, a.model, a.parts],
  );
}

/** The brief will not be written (its task failed for good). */
export async function failBrief(db: Db, runId: string, error: string): Promise<void> {
  await db.query(`UPDATE research_briefs SET status = 'failed', error = $2 WHERE run_id = $1 AND status <> 'completed'`, [runId, error.slice(0, 2_000)]);
}

/** Telegram accepted parts 1..`parts` in `chatId`. */
export async function recordPartsDelivered(db: Db, runId: string, chatId: string, parts: number): Promise<void> {
  await db.query(
    `UPDATE research_briefs SET delivered_parts = delivered_parts || jsonb_build_object($2::text, $3::int) WHERE run_id = $1`,
    [runId, chatId, parts],
  );
}

/** How the delivery ended (or why it is still pending). */
export async function setBriefDelivery(db: Db, runId: string, status: BriefDeliveryStatus, error?: string): Promise<void> {
  await db.query(`UPDATE research_briefs SET delivery_status = $2, delivery_error = $3 WHERE run_id = $1`, [runId, status, error?.slice(0, 2_000) ?? null]);
}

/** The stored answer is due for delivery now; a delivery already queued or finished is left as it is. */
export async function queueBriefDelivery(db: Db, runId: string): Promise<void> {
  await db.query(`UPDATE research_briefs SET next_delivery_at = now() WHERE run_id = $1 AND status = 'completed' AND next_delivery_at IS NULL`, [runId]);
}

/** Claims the most overdue brief for one delivery attempt; the lease covers a crashed deliverer. */
export async function claimDueBrief(db: Db, now: Date, leaseS: number): Promise<BriefRow | undefined> {
  const { rows } = await db.query<Raw>(
    `UPDATE research_briefs SET next_delivery_at = $1::timestamptz + make_interval(secs => $2), delivery_attempts = delivery_attempts + 1
     WHERE run_id = (SELECT run_id FROM research_briefs WHERE status = 'completed' AND delivery_status = 'pending' AND next_delivery_at <= $1::timestamptz
                     ORDER BY next_delivery_at, run_id LIMIT 1 FOR UPDATE SKIP LOCKED)
     RETURNING ${COLUMNS}`,
    [now, leaseS],
  );
  return rows[0] && toRow(rows[0]);
}

/** A transient delivery failure: due again at `retryAt`, the parts already accepted kept. */
export async function retryBriefDelivery(db: Db, runId: string, error: string, retryAt: Date): Promise<void> {
  await db.query(`UPDATE research_briefs SET delivery_error = $2, next_delivery_at = $3 WHERE run_id = $1`, [runId, error.slice(0, 2_000), retryAt]);
}

export async function getBrief(db: Db, runId: string): Promise<BriefRow | undefined> {
  const { rows } = await db.query<Raw>(`SELECT ${COLUMNS} FROM research_briefs WHERE run_id = $1`, [runId]);
  return rows[0] && toRow(rows[0]);
}
