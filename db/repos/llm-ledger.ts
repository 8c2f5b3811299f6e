// The LLM cost ledger: one row per provider call, opened before the call and closed after it.
import type { Pool } from "../pool.ts";

export type CallStatus = "pending" | "ok" | "error" | "rate_limited" | "cancelled" | "interrupted";

export interface CallKey {
  taskId: string;
  /** Unique per provider call of a task: "<job attempt>.<execution>.<call number>". */
  callAttempt: string;
}

export interface CallStart extends CallKey {
  chainId?: string;
  traceId?: string;
  jobId?: string;
  provider: string;
  model: string;
  tier: string;
  attempt: number;
}

export interface CallEnd {
  status: Exclude<CallStatus, "pending" | "interrupted">;
  error?: string;
  httpStatus?: number;
  inputTokens: number;
  outputTokens: number;
  usageEstimated: boolean;
  costUsd: number;
  latencyMs: number;
}

/** Opens the row; a second start of the same call is a no-op. */
export async function startCall(pool: Pool, c: CallStart): Promise<void> {
  await pool.query(
    `INSERT INTO llm_calls (task_id, call_attempt, chain_id, trace_id, job_id, provider, model, tier, attempt, status)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'pending') ON CONFLICT (task_id, call_attempt) DO NOTHING`,
    [c.taskId, c.callAttempt, c.chainId ?? null, c.traceId ?? null, c.jobId ?? null, c.provider, c.model, c.tier, c.attempt],
  );
}

/** Closes a pending row; closing it again changes nothing, so a call is never counted twice. */
export async function finishCall(pool: Pool, k: CallKey, e: CallEnd): Promise<boolean> {
  const r = await pool.query(
    `UPDATE llm_calls SET status = $3, error = $4, http_status = $5, input_tokens = $6, output_tokens = $7,
       usage_estimated = $8, cost_usd = $9, latency_ms = $10, finished_at = now()
     WHERE task_id = $1 AND call_attempt = $2 AND status = 'pending'`,
    [k.taskId, k.callAttempt, e.status, e.error ?? null, e.httpStatus ?? null, e.inputTokens, e.outputTokens, e.usageEstimated, e.costUsd, Math.round(e.latencyMs)],
  );
  return (r.rowCount ?? 0) > 0;
}

/** Removes a pending row whose call was never sent. */
export async function discardCall(pool: Pool, k: CallKey): Promise<void> {
  await pool.query("DELETE FROM llm_calls WHERE task_id = $1 AND call_attempt = $2 AND status = 'pending'", [k.taskId, k.callAttempt]);
}

/** Calls of a task left open by a process that died mid-call: their cost is unknown, never guessed. */
export async function interruptPendingCalls(pool: Pool, taskId: string): Promise<number> {
  const r = await pool.query("UPDATE llm_calls SET status = 'interrupted', finished_at = now() WHERE task_id = $1 AND status = 'pending'", [taskId]);
  return r.rowCount ?? 0;
}

/**
 * Calls still pending long after any call can last: their process died and their job never ran again (it was
 * removed, or it failed for good elsewhere). Interrupted like above; returns how many.
 */
export async function interruptStaleCalls(pool: Pool, olderThanMinutes: number): Promise<number> {
  const r = await pool.query("UPDATE llm_calls SET status = 'interrupted', finished_at = now() WHERE status = 'pending' AND started_at < now() - make_interval(mins => $1)", [olderThanMinutes]);
  return r.rowCount ?? 0;
}

export type CostGrouping = "provider" | "model" | "day";

export interface CostRow {
  key: string;
  calls: number;
  ok: number;
  failed: number;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
  /** Calls that finished (pending and interrupted ones have no latency) and their mean latency. */
  timedCalls: number;
  avgLatencyMs: number | null;
}

/** Totals since `since` grouped by provider, provider:model or UTC day (the `npm run cost` report). */
export async function costReport(pool: Pool, since: Date, by: CostGrouping): Promise<CostRow[]> {
  const { rows } = await pool.query<{ key: string; calls: string; ok: string; failed: string; input_tokens: string; output_tokens: string; cost_usd: string; timed_calls: string; avg_latency_ms: number | null }>(
    `SELECT CASE $2::text WHEN 'provider' THEN provider WHEN 'model' THEN provider || ':' || model
              ELSE to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') END AS key,
            count(*) AS calls, count(*) FILTER (WHERE status = 'ok') AS ok, count(*) FILTER (WHERE status <> 'ok') AS failed,
            coalesce(sum(input_tokens), 0) AS input_tokens, coalesce(sum(output_tokens), 0) AS output_tokens,
            coalesce(sum(cost_usd), 0) AS cost_usd, count(latency_ms) AS timed_calls, avg(latency_ms)::float8 AS avg_latency_ms
     FROM llm_calls WHERE started_at >= $1 GROUP BY 1 ORDER BY 1`,
    [since, by],
  );
  return rows.map((r) => ({
    key: r.key,
    calls: Number(r.calls),
    ok: Number(r.ok),
    failed: Number(r.failed),
    inputTokens: Number(r.input_tokens),
    outputTokens: Number(r.output_tokens),
    costUsd: Number(r.cost_usd),
    timedCalls: Number(r.timed_calls),
    avgLatencyMs: r.avg_latency_ms,
  }));
}
