import type { Pool, PoolClient } from "../pool.ts";

/** Last bar a stage has written for an asset (and timeframe), or undefined before the first refresh. */
export async function getWatermark(db: Pool | PoolClient, assetId: number, stage: string, tf = "1D"): Promise<string | undefined> {
  const { rows } = await db.query<{ w: string }>(
    "SELECT to_char(watermark_ts, 'YYYY-MM-DD') AS w FROM feature_state WHERE asset_id = $1 AND stage = $2 AND tf = $3",
    [assetId, stage, tf],
  );
  return rows[0]?.w;
}

export async function setWatermark(db: Pool | PoolClient, assetId: number, stage: string, watermark: string, rowsWritten: number, tf = "1D"): Promise<void> {
  await db.query(
    `INSERT INTO feature_state (asset_id, stage, tf, watermark_ts, rows_written) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (asset_id, stage, tf) DO UPDATE SET watermark_ts = EXCLUDED.watermark_ts, rows_written = EXCLUDED.rows_written, last_refresh_at = now()`,
    [assetId, stage, tf, watermark, rowsWritten],
  );
}
