// LLM tasks: genealogy (chain id inherited from the parent) and the output, final or partial.
import type { Pool } from "../pool.ts";

export type TaskStatus = "running" | "completed" | "partial" | "failed";

export interface TaskRow {
  taskId: string;
  chainId: string;
  parentTaskId: string | null;
  status: TaskStatus;
  provider: string | null;
  model: string | null;
  tier: string | null;
  output: string | null;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
}

type Raw = { task_id: string; chain_id: string; parent_task_id: string | null; status: TaskStatus; provider: string | null; model: string | null; tier: string | null; output: string | null; input_tokens: number; output_tokens: number; cost_usd: string };
const toRow = (r: Raw): TaskRow => ({
  taskId: r.task_id,
  chainId: r.chain_id,
  parentTaskId: r.parent_task_id,
  status: r.status,
  provider: r.provider,
  model: r.model,
  tier: r.tier,
  output: r.output,
  inputTokens: r.input_tokens,
  outputTokens: r.output_tokens,
  costUsd: Number(r.cost_usd),
});
const COLUMNS = "task_id, chain_id, parent_task_id, status, provider, model, tier, output, input_tokens, output_tokens, cost_usd";

/** Marks the task running and returns its row; a task that already completed stays completed (a re-run returns it). */
export async function beginTask(pool: Pool, t: { taskId: string; chainId: string; parentTaskId?: string; handoffId?: string }): Promise<TaskRow> {
  const { rows } = await pool.query<Raw>(
    `INSERT INTO llm_tasks (task_id, chain_id, parent_task_id, handoff_id, status) VALUES ($1, $2, $3, $4, 'running')
     ON CONFLICT (task_id) DO UPDATE SET updated_at = now(),
       status = CASE WHEN llm_tasks.status = 'completed' THEN 'completed' ELSE 'running' END
     RETURNING ${COLUMNS}`,
    [t.taskId, t.chainId, t.parentTaskId ?? null, t.handoffId ?? null],
  );
  return toRow(rows[0]!);
}

export interface TaskEnd {
  status: Exclude<TaskStatus, "running">;
  provider?: string;
  model?: string;
  tier?: string;
  output?: string;
  inputTokens?: number;
  outputTokens?: number;
  costUsd?: number;
  error?: string;
}

/** Records how the task ended; a completed task is never overwritten. Tokens and cost are the task's totals. */
export async function finishTask(pool: Pool, taskId: string, e: TaskEnd): Promise<void> {
  await pool.query(
    `UPDATE llm_tasks SET status = $2, provider = $3, model = $4, tier = $5, output = $6, input_tokens = $7, output_tokens = $8,
       cost_usd = $9, error = $10, updated_at = now()
     WHERE task_id = $1 AND status <> 'completed'`,
    [taskId, e.status, e.provider ?? null, e.model ?? null, e.tier ?? null, e.output ?? null, e.inputTokens ?? 0, e.outputTokens ?? 0, e.costUsd ?? 0, e.error ?? null],
  );
}

/** A chain's tasks in creation order (parent before child). */
export async function chainTasks(pool: Pool, chainId: string): Promise<TaskRow[]> {
  const { rows } = await pool.query<Raw>(`SELECT ${COLUMNS} FROM llm_tasks WHERE chain_id = $1 ORDER BY created_at, task_id`, [chainId]);
  return rows.map(toRow);
}
