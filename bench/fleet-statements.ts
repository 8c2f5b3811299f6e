// Which statements the PostgreSQL time of a phase goes to, from pg_stat_statements. Only when the server
// preloads it (shared_preload_libraries): the embedded dev server does not, so this stays off unless a
// bench-only data directory's postgresql.conf adds it (README, "Capacity model"). Times are PostgreSQL's
// own (planning + execution, wall), not CPU: they rank statements, the CPU clock gives the total.
import type { Pool } from "../db/pool.ts";

export interface StatementRow {
  query: string;
  calls: number;
  totalMs: number;
  rows: number;
}

/** A statement recorder for the pool's database, or undefined when the server does not load the module. */
export async function statementRecorder(pool: Pool): Promise<{ reset: () => Promise<void>; top: (n: number) => Promise<StatementRow[]> } | undefined> {
  const { rows } = await pool.query<{ libs: string }>("SELECT current_setting('shared_preload_libraries') AS libs");
  if (!rows[0]!.libs.split(",").some((l) => l.trim() === "pg_stat_statements")) return undefined;
  await pool.query("CREATE EXTENSION IF NOT EXISTS pg_stat_statements");
  return {
    // Resets every database's entries: the phases of one bench are sequential, nothing else is measured meanwhile.
    reset: async () => void (await pool.query("SELECT pg_stat_statements_reset()")),
    top: async (n) =>
      (
        await pool.query<StatementRow>(
          `SELECT query, sum(calls)::float8 AS calls, sum(total_plan_time + total_exec_time)::float8 AS "totalMs", sum(rows)::float8 AS rows
           FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
           GROUP BY query ORDER BY 3 DESC LIMIT $1`,
          [n],
        )
      ).rows,
  };
}
