import type { PriceRow } from "../import/parse-prices.ts";
import type { Pool, PoolClient } from "../pool.ts";

/** Upserts bars; unchanged rows are not rewritten, so a re-import reports 0 rows written. */
export async function upsertPrices(db: Pool | PoolClient, assetId: number, rows: PriceRow[]): Promise<number> {
  const { rowCount } = await db.query(
    `INSERT INTO prices_daily AS p (asset_id, ts, open, high, low, close, volume)
     SELECT $1, * FROM unnest($2::date[], $3::float8[], $4::float8[], $5::float8[], $6::float8[], $7::float8[])
     ON CONFLICT (asset_id, ts) DO UPDATE SET open = EXCLUDED.open, high = EXCLUDED.high, low = EXCLUDED.low,
       close = EXCLUDED.close, volume = EXCLUDED.volume
     WHERE (p.open, p.high, p.low, p.close, p.volume) IS DISTINCT FROM
           (EXCLUDED.open, EXCLUDED.high, EXCLUDED.low, EXCLUDED.close, EXCLUDED.volume)`,
    [assetId, rows.map((r) => r.ts), rows.map((r) => r.open), rows.map((r) => r.high), rows.map((r) => r.low), rows.map((r) => r.close), rows.map((r) => r.volume)],
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

/** An asset's bars up to and including `asOf`, oldest first, as columns. */
export async function loadBars(db: Pool | PoolClient, assetId: number, asOf: string): Promise<Bars> {
  const { rows } = await db.query<{ ts: string; o: number[]; h: number[]; l: number[]; c: number[]; v: number[]; d: string[] }>(
    `SELECT array_agg(to_char(ts, 'YYYY-MM-DD') ORDER BY ts) AS d, array_agg(open ORDER BY ts) AS o, array_agg(high ORDER BY ts) AS h,
            array_agg(low ORDER BY ts) AS l, array_agg(close ORDER BY ts) AS c, array_agg(volume ORDER BY ts) AS v
     FROM prices_daily WHERE asset_id = $1 AND ts <= $2`,
    [assetId, asOf],
  );
  const r = rows[0]!;
  return {
    dates: r.d ?? [],
    open: Float64Array.from(r.o ?? []),
    high: Float64Array.from(r.h ?? []),
    low: Float64Array.from(r.l ?? []),
    close: Float64Array.from(r.c ?? []),
    volume: Float64Array.from(r.v ?? []),
  };
}
