import type { Pool, PoolClient } from "../pool.ts";

export interface StageState {
  watermark: string;
  /** Fingerprint of the inputs up to the watermark the stored rows were computed from; null when not tracked. */
  inputHash: string | null;
}

/** A stage's state for an asset (and timeframe), or undefined before the first refresh. */
export async function getStageState(db: Pool | PoolClient, assetId: number, stage: string, tf = "1D"): Promise<StageState | undefined> {
  const { rows } = await db.query<StageState>(
    `SELECT to_char(watermark_ts, 'YYYY-MM-DD') AS watermark, input_hash AS "inputHash"
     FROM feature_state WHERE asset_id = $1 AND stage = $2 AND tf = $3`,
    [assetId, stage, tf],
  );
  return rows[0];
}

/** Last bar a stage has written for an asset (and timeframe), or undefined before the first refresh. */
export async function getWatermark(db: Pool | PoolClient, assetId: number, stage: string, tf = "1D"): Promise<string | undefined> {
  return (await getStageState(db, assetId, stage, tf))?.watermark;
}

export async function setWatermark(db: Pool | PoolClient, assetId: number, stage: string, watermark: string, rowsWritten: number, tf = "1D", inputHash: string | null = null): Promise<void> {
  await db.query(
    `INSERT INTO feature_state (asset_id, stage, tf, watermark_ts, rows_written, input_hash) VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (asset_id, stage, tf) DO UPDATE SET watermark_ts = EXCLUDED.watermark_ts, rows_written = EXCLUDED.rows_written,
       input_hash = EXCLUDED.input_hash, last_refresh_at = now()`,
    [assetId, stage, tf, watermark, rowsWritten, inputHash],
  );
}
