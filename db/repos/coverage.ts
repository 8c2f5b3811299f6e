import type { Pool } from "../pool.ts";

/** The latest day every one of `symbols` has a bar for (undefined when one has none). */
export async function commonLastDay(pool: Pool, symbols: readonly string[]): Promise<string | undefined> {
  const { rows } = await pool.query<{ d: string | null; n: number }>(
    `SELECT to_char(min(last), 'YYYY-MM-DD') AS d, count(*)::int AS n
     FROM (SELECT max(p.ts) AS last FROM prices_daily p JOIN assets a USING (asset_id) WHERE a.symbol = ANY($1) GROUP BY a.symbol) s`,
    [symbols],
  );
  return rows[0]?.n === symbols.length && rows[0].d ? rows[0].d : undefined;
}
