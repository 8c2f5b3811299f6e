// Handoffs between LLM tasks: the full context by id, a summary of at most 500 characters inline.
import type { Pool } from "../pool.ts";

export interface Handoff {
  handoffId: string;
  fromTaskId: string;
  chainId: string;
  summary: string;
  context: string;
}

/** Stores a handoff; storing the same id again (a re-run of the task) keeps the first. */
export async function insertHandoff(pool: Pool, h: Handoff): Promise<void> {
  await pool.query(
    `INSERT INTO llm_handoffs (handoff_id, from_task_id, chain_id, summary, context) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (handoff_id) DO NOTHING`,
    [h.handoffId, h.fromTaskId, h.chainId, h.summary, h.context],
  );
}

export async function getHandoff(pool: Pool, handoffId: string): Promise<Handoff | undefined> {
  const { rows } = await pool.query<{ handoff_id: string; from_task_id: string; chain_id: string; summary: string; context: string }>(
    "SELECT handoff_id, from_task_id, chain_id, summary, context FROM llm_handoffs WHERE handoff_id = $1",
    [handoffId],
  );
  const r = rows[0];
  return r && { handoffId: r.handoff_id, fromTaskId: r.from_task_id, chainId: r.chain_id, summary: r.summary, context: r.context };
}
