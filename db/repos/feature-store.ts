// Reads the stage tables joined per day (the feature store's inputs). LEFT JOINs: a stage that has not
// written a day yields NULLs for its columns, never a missing row.
import { escapeIdentifier } from "pg";
import type { Pool, PoolClient } from "../pool.ts";
import { EMA_PERIODS } from "../../compute/indicators/ema.ts";
import { FEATURE_COLUMNS } from "../../compute/indicators/catalog.ts";
import { READ_AS_OF, READ_ASSET, readColumns } from "./column-reads.ts";
import { PRICE_COLUMNS, STAGE_TABLES } from "./feature-tables.ts";

export type FeatureInputs = { dates: string[] } & Record<string, Float64Array>;

export const FEATURE_INPUT_COLUMNS = Object.freeze([...PRICE_COLUMNS, ...FEATURE_COLUMNS]);

// Names come from the frozen declarations only (quoted anyway), never from input.
const q = escapeIdentifier;
const EMA_PIVOT = EMA_PERIODS.map((p) => `max(ema) FILTER (WHERE period = ${p}) AS ${q(`ema_${p}`)}`).join(", ");
const wide = Object.values(STAGE_TABLES);
/** The joined rows of the read's asset up to its day. */
const JOINED = `FROM (SELECT p.ts, ${PRICE_COLUMNS.map((c) => `p.${q(c)}`).join(", ")},
       ${[EMA_PERIODS.map((p) => `e.${q(`ema_${p}`)}`).join(", "), ...wide.map((t) => t.values.map(([c]) => `${q(t.table)}.${q(c)}`).join(", "))].join(",\n       ")}
     FROM prices_daily p
     LEFT JOIN (SELECT ts AS e_ts, ${EMA_PIVOT} FROM ema_daily WHERE asset_id = ${READ_ASSET} AND ts <= ${READ_AS_OF} GROUP BY ts) e ON e.e_ts = p.ts
     ${wide.map((t) => `LEFT JOIN ${q(t.table)} ON ${q(t.table)}.asset_id = p.asset_id AND ${q(t.table)}.ts = p.ts`).join("\n     ")}
     WHERE p.asset_id = ${READ_ASSET} AND p.ts <= ${READ_AS_OF}) joined`;
const VALUES = FEATURE_INPUT_COLUMNS.map((c) => q(c));

export async function loadFeatureInputs(db: Pool | PoolClient, assetId: number, asOf: string): Promise<FeatureInputs> {
  const { dates, cols } = await readColumns(db, VALUES, JOINED, { assetId, asOf });
  const out: FeatureInputs = { dates } as FeatureInputs;
  FEATURE_INPUT_COLUMNS.forEach((c, i) => (out[c] = cols[i]!));
  return out;
}
