// Reads the stage tables joined per day (the feature store's inputs). LEFT JOINs: a stage that has not
// written a day yields NULLs for its columns, never a missing row.
import { escapeIdentifier } from "pg";
import type { Pool, PoolClient } from "../pool.ts";
import { EMA_COLUMNS, RETURN_COLUMNS, TA_COLUMNS, VOL_COLUMNS } from "./feature-tables.ts";

export type FeatureInputs = { dates: string[] } & Record<string, Float64Array>;

export const FEATURE_INPUT_COLUMNS = Object.freeze(["open", "high", "low", "close", "volume", ...EMA_COLUMNS, ...RETURN_COLUMNS, ...VOL_COLUMNS, ...TA_COLUMNS]);

// Column names come from the frozen constants only (quoted anyway), never from input.
const qualified = (alias: string, cols: readonly string[]) => cols.map((c) => `${alias}.${escapeIdentifier(c)}`).join(", ");
const SELECT_LIST = [qualified("e", EMA_COLUMNS), qualified("r", RETURN_COLUMNS), qualified("v", VOL_COLUMNS), qualified("t", TA_COLUMNS)].join(",\n       ");

export async function loadFeatureInputs(db: Pool | PoolClient, assetId: number, asOf: string): Promise<FeatureInputs> {
  const { rows } = await db.query(
    `SELECT to_char(p.ts, 'YYYY-MM-DD') AS ts, p.open, p.high, p.low, p.close, p.volume,
       ${SELECT_LIST}
     FROM prices_daily p
     LEFT JOIN (
       SELECT ts AS e_ts,
              max(ema) FILTER (WHERE period = 5) AS ema_5, max(ema) FILTER (WHERE period = 9) AS ema_9,
              max(ema) FILTER (WHERE period = 10) AS ema_10, max(ema) FILTER (WHERE period = 21) AS ema_21,
              max(ema) FILTER (WHERE period = 50) AS ema_50, max(ema) FILTER (WHERE period = 100) AS ema_100,
              max(ema) FILTER (WHERE period = 200) AS ema_200
       FROM ema_daily WHERE asset_id = $1 AND ts <= $2 GROUP BY ts) e ON e.e_ts = p.ts
     LEFT JOIN returns_daily r ON r.asset_id = p.asset_id AND r.ts = p.ts
     LEFT JOIN vol_daily v ON v.asset_id = p.asset_id AND v.ts = p.ts
     LEFT JOIN ta_daily t ON t.asset_id = p.asset_id AND t.ts = p.ts
     WHERE p.asset_id = $1 AND p.ts <= $2
     ORDER BY p.ts`,
    [assetId, asOf],
  );
  const n = rows.length;
  const out: FeatureInputs = { dates: rows.map((r) => r.ts as string) } as FeatureInputs;
  for (const c of FEATURE_INPUT_COLUMNS) {
    const col = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const v = rows[i][c];
      col[i] = v === null || v === undefined ? NaN : Number(v);
    }
    out[c] = col;
  }
  return out;
}
