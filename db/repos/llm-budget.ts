// Daily-budget warnings (50 / 80 / 90 %) of LLM providers. The alerts engine reads them with
// budgetWarningsSince(pool, lastSeenId) and delivers them; this module never writes observability.alerts.
import type { Pool } from "../pool.ts";

export interface BudgetWarning {
  provider: string;
  /** Local day of the budget, YYYY-MM-DD. */
  day: string;
  measure: "requests" | "tokens";
  threshold: 50 | 80 | 90;
  used: number;
  budget: number;
}

export interface StoredBudgetWarning extends BudgetWarning {
  warningId: number;
  createdAt: Date;
}

/** Records crossings; returns only those not recorded before (each fires once per provider, day, measure, threshold). */
export async function recordBudgetWarnings(pool: Pool, ws: BudgetWarning[]): Promise<BudgetWarning[]> {
  if (!ws.length) return [];
  const { rows } = await pool.query<{ provider: string; day: string; measure: BudgetWarning["measure"]; threshold: BudgetWarning["threshold"]; used: string; budget: string }>(
    `INSERT INTO llm_budget_warnings (provider, day, measure, threshold, used, budget)
     SELECT * FROM unnest($1::text[], $2::date[], $3::text[], $4::int[], $5::bigint[], $6::bigint[])
     ON CONFLICT (provider, day, measure, threshold) DO NOTHING
     RETURNING provider, to_char(day, 'YYYY-MM-DD') AS day, measure, threshold, used, budget`,
    [ws.map((w) => w.provider), ws.map((w) => w.day), ws.map((w) => w.measure), ws.map((w) => w.threshold), ws.map((w) => w.used), ws.map((w) => w.budget)],
  );
  return rows.map((r) => ({ ...r, used: Number(r.used), budget: Number(r.budget) }));
}

/** Warnings recorded after `afterId`, oldest first: the poll the alerts engine runs. */
export async function budgetWarningsSince(pool: Pool, afterId = 0, limit = 100): Promise<StoredBudgetWarning[]> {
  const { rows } = await pool.query<{ warning_id: string; provider: string; day: string; measure: BudgetWarning["measure"]; threshold: BudgetWarning["threshold"]; used: string; budget: string; created_at: Date }>(
    `SELECT warning_id, provider, to_char(day, 'YYYY-MM-DD') AS day, measure, threshold, used, budget, created_at
     FROM llm_budget_warnings WHERE warning_id > $1 ORDER BY warning_id LIMIT $2`,
    [afterId, limit],
  );
  return rows.map((r) => ({ warningId: Number(r.warning_id), provider: r.provider, day: r.day, measure: r.measure, threshold: r.threshold, used: Number(r.used), budget: Number(r.budget), createdAt: r.created_at }));
}
