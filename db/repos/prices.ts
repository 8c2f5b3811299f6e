import type { Writable } from "node:stream";
import { from as copyFrom } from "pg-copy-streams";
import type { Pool, PoolClient } from "../pool.ts";
import type { Asset } from "./assets.ts";
import { READ_AS_OF, READ_ASSET, readColumns } from "./column-reads.ts";
import { cacheRead, cachedRead } from "./read-cache.ts";

// An import streams its rows into a temporary table of the transaction (import_prices) and upserts from
// there at the end: memory stays bounded by the stream's buffers, and a failure before the end rolls
// everything back.

/** Creates the transaction's staging table (dropped at commit or rollback). */
export async function createPriceStaging(client: PoolClient): Promise<void> {
  await client.query(`CREATE TEMP TABLE import_prices (ts date, open float8, high float8, low float8, close float8, volume float8) ON COMMIT DROP`);
}

/** A COPY stream into the staging table; write `stagingLine(line)`s to it. */
export function copyIntoPriceStaging(client: PoolClient): Writable {
  return client.query(copyFrom(`COPY import_prices FROM STDIN`));
}

/** A validated CSV row in COPY text format: its fields (a date and plain decimals) are copied as written. */
export const stagingLine = (csvLine: string) => `${csvLine.trim().replaceAll(",", "\t")}\n`;

/** Upserts the staged bars; unchanged rows are not rewritten, so a re-import reports 0 rows written. */
export async function upsertStagedPrices(client: PoolClient, assetId: number): Promise<number> {
  const { rowCount } = await client.query(
    `INSERT INTO prices_daily AS p (asset_id, ts, open, high, low, close, volume)
     SELECT $1, ts, open, high, low, close, volume FROM import_prices
     ON CONFLICT (asset_id, ts) DO UPDATE SET open = EXCLUDED.open, high = EXCLUDED.high, low = EXCLUDED.low,
       close = EXCLUDED.close, volume = EXCLUDED.volume
     WHERE (p.open, p.high, p.low, p.close, p.volume) IS DISTINCT FROM
           (EXCLUDED.open, EXCLUDED.high, EXCLUDED.low, EXCLUDED.close, EXCLUDED.volume)`,
    [assetId],
  );
  return rowCount ?? 0;
}

export interface Bars {
  dates: string[];
  open: Float64Array;
  high: Float64Array;
  low: Float64Array;
  close: Float64Array;
  volume: Float64Array;
}

const BAR_VALUES = ["open", "high", "low", "close", "volume"] as const;
const BARS = `FROM prices_daily WHERE asset_id = ${READ_ASSET} AND ts <= ${READ_AS_OF}`;

/**
 * loadBars through the pool's read cache (read-cache.ts), by the asset's prices_version: shared with the
 * asset's other stage jobs, so callers must not modify the bars. (Not frozen: V8 copies and posts a frozen
 * array on its slow paths, measured 15× and 2.5× slower.)
 */
export function cachedBars(pool: Pool, asset: Pick<Asset, "asset_id" | "prices_version">, asOf: string): Promise<Bars> {
  const key = `bars|${asset.asset_id}|${asset.prices_version}|${asOf}`;
  return cachedRead<Bars>(pool, key) ?? cacheRead(pool, key, loadBars(pool, asset.asset_id, asOf));
}

/** An asset's bars up to and including `asOf`, oldest first, as columns. */
export async function loadBars(db: Pool | PoolClient, assetId: number, asOf: string): Promise<Bars> {
  const { dates, cols } = await readColumns(db, BAR_VALUES, BARS, { assetId, asOf });
  const [open, high, low, close, volume] = cols as [Float64Array, Float64Array, Float64Array, Float64Array, Float64Array];
  return { dates, open, high, low, close, volume };
}

/** How many bars an asset has (a walk-forward plans its windows over them before enqueueing). */
export async function countBars(db: Pool | PoolClient, assetId: number): Promise<number> {
  const { rows } = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM prices_daily WHERE asset_id = $1", [assetId]);
  return rows[0]!.n;
}
