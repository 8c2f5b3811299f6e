import type { Pool } from "../pool.ts";

/** Ids of active strategy configurations, in id order (the strategies gate adds one chain per asset for each). */
export async function activeSignalIds(pool: Pool): Promise<number[]> {
  const { rows } = await pool.query<{ signal_id: number }>("SELECT signal_id FROM dim_signals WHERE is_active ORDER BY signal_id");
  return rows.map((r) => r.signal_id);
}
