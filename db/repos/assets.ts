import type { Pool, PoolClient } from "../pool.ts";

export type Session = "CRYPTO" | "EQUITY";

export interface Asset {
  asset_id: number;
  symbol: string;
  asset_class: string;
  session_type: Session;
  periods_per_year: number;
}

/** Creates the asset or returns the existing one; a different session for an existing symbol is refused. */
export async function upsertAsset(db: Pool | PoolClient, symbol: string, session: Session): Promise<Asset> {
  const { rows } = await db.query<Asset>(
    `WITH ins AS (
       INSERT INTO assets (symbol, asset_class, session_type)
       SELECT $1, s.asset_class, s.session_type FROM dim_sessions s WHERE s.session_type = $2
       ON CONFLICT (symbol) DO NOTHING
       RETURNING asset_id, symbol, asset_class, session_type)
     SELECT a.asset_id, a.symbol, a.asset_class, a.session_type, s.periods_per_year
     FROM (SELECT * FROM ins UNION ALL SELECT asset_id, symbol, asset_class, session_type FROM assets WHERE symbol = $1) a
     JOIN dim_sessions s USING (session_type) LIMIT 1`,
    [symbol, session],
  );
  const asset = rows[0];
  if (!asset) throw new Error(`session ${JSON.stringify(session)} is not in dim_sessions`);
  if (asset.session_type !== session) throw new Error(`asset ${symbol} exists with session ${asset.session_type}, not ${session}`);
  return asset;
}

export async function findAsset(db: Pool | PoolClient, symbol: string): Promise<Asset | undefined> {
  const { rows } = await db.query<Asset>(
    `SELECT a.asset_id, a.symbol, a.asset_class, a.session_type, s.periods_per_year
     FROM assets a JOIN dim_sessions s USING (session_type) WHERE a.symbol = $1`,
    [symbol],
  );
  return rows[0];
}
