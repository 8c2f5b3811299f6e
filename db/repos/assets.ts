import type { Pool, PoolClient } from "../pool.ts";

export type Session = "CRYPTO" | "EQUITY";

export interface Asset {
  asset_id: number;
  symbol: string;
  asset_class: string;
  session_type: Session;
  periods_per_year: number;
  /** Changes to the asset's bars and to its feature rows so far (migration 049): what caches of them are keyed by. */
  prices_version: string;
  features_version: string;
}

/**
 * Creates the asset or returns the existing one; a different session for an existing symbol is refused.
 * Two statements on purpose: an INSERT … ON CONFLICT DO NOTHING that waited for a concurrent import's
 * insert of the same symbol cannot see that row within its own statement, but the next statement can.
 */
export async function upsertAsset(db: Pool | PoolClient, symbol: string, session: Session): Promise<Asset> {
  await db.query(
    `INSERT INTO assets (symbol, asset_class, session_type)
     SELECT $1, s.asset_class, s.session_type FROM dim_sessions s WHERE s.session_type = $2
     ON CONFLICT (symbol) DO NOTHING`,
    [symbol, session],
  );
  const asset = await findAsset(db, symbol);
  if (!asset) throw new Error(`session ${JSON.stringify(session)} is not in dim_sessions`);
  if (asset.session_type !== session) throw new Error(`asset ${symbol} exists with session ${asset.session_type}, not ${session}`);
  return asset;
}

export async function findAsset(db: Pool | PoolClient, symbol: string): Promise<Asset | undefined> {
  const { rows } = await db.query<Asset>(
    `SELECT a.asset_id, a.symbol, a.asset_class, a.session_type, s.periods_per_year, a.prices_version::text AS prices_version,
       a.features_version::text AS features_version
     FROM assets a JOIN dim_sessions s USING (session_type) WHERE a.symbol = $1`,
    [symbol],
  );
  return rows[0];
}

/** Every symbol in the assets table, in byte order (what a CLI lists as the known symbols). */
export async function knownSymbols(db: Pick<Pool | PoolClient, "query">): Promise<string[]> {
  const { rows } = await db.query<{ symbol: string }>(`SELECT symbol FROM assets ORDER BY symbol COLLATE "C"`);
  return rows.map((r) => r.symbol);
}

/** Why `symbols` (the value of `field`) cannot be refreshed: the first unknown one and the known list; undefined when all are known. */
export async function unknownSymbolProblem(db: Pick<Pool | PoolClient, "query">, field: string, symbols: readonly string[]): Promise<string | undefined> {
  const known = await knownSymbols(db);
  const have = new Set(known);
  const unknown = symbols.find((s) => !have.has(s));
  if (unknown === undefined) return undefined;
  const hint = known.length ? `known: ${known.join(", ")}` : "no asset is known yet; import prices first: npm run import -- <file.csv> --symbol X --session CRYPTO|EQUITY";
  return `${field}: unknown symbol ${JSON.stringify(unknown)} (${hint})`;
}
