// Reads the stage tables joined per day (the feature store's inputs). LEFT JOINs: a stage that has not
// written a day yields NULLs for its columns, never a missing row.
import { escapeIdentifier } from "pg";
import type { Pool, PoolClient } from "../pool.ts";
import { EMA_PERIODS } from "../../compute/indicators/ema.ts";
import { FEATURE_COLUMNS } from "../../compute/indicators/catalog.ts";
import { READ_AS_OF, READ_ASSET, READ_DAYS, readColumns } from "./column-reads.ts";
import { PRICE_COLUMNS, STAGE_TABLES } from "./feature-tables.ts";

export type FeatureInputs = { dates: string[] } & Record<string, Float64Array>;

export const FEATURE_INPUT_COLUMNS = Object.freeze([...PRICE_COLUMNS, ...FEATURE_COLUMNS]);

// Names come from the frozen declarations only (quoted anyway), never from input.
const q = escapeIdentifier;
const EMA_COLUMNS = new Set(EMA_PERIODS.map((p) => `ema_${p}`));
const wide = Object.values(STAGE_TABLES);

/**
 * The joined rows of the read's asset up to its day (only READ_DAYS among them with `someDays`), with only
 * the tables `columns` come from: prices_daily gives the day axis (a job's bars), the others are LEFT JOINed.
 * The EMA periods are pivoted per day by an index probe (primary key asset_id, ts, period), whatever the
 * statistics say: grouped over the whole history in a subquery, a planner that took a freshly written asset
 * for a rare one (statistics from before its rows) rescanned that aggregate for every day of the join, up to
 * a minute per read, when a run goes depth-first and reads an asset's rows right after writing them.
 */
function joined(columns: readonly string[], someDays: boolean): string {
  const cols = new Set(columns);
  const tables = wide.filter((t) => t.values.some(([c]) => cols.has(c)));
  const select = columns.map((c) => (PRICE_COLUMNS.includes(c as never) ? `p.${q(c)}` : EMA_COLUMNS.has(c) ? `e.${q(c)}` : `${q(tables.find((t) => t.values.some(([v]) => v === c))!.table)}.${q(c)}`));
  const pivot = [...EMA_COLUMNS].filter((c) => cols.has(c)).map((c) => `max(ema) FILTER (WHERE period = ${Number(c.slice(4))}) AS ${q(c)}`).join(", ");
  const ema = pivot ? `LEFT JOIN LATERAL (SELECT ${pivot} FROM ema_daily WHERE asset_id = ${READ_ASSET} AND ts = p.ts) e ON true` : "";
  return `FROM (SELECT p.ts, ${select.join(", ")}
     FROM ${someDays ? `unnest(${READ_DAYS}) d (day) JOIN prices_daily p ON p.asset_id = ${READ_ASSET} AND p.ts = d.day` : "prices_daily p"}
     ${ema}
     ${tables.map((t) => `LEFT JOIN ${q(t.table)} ON ${q(t.table)}.asset_id = p.asset_id AND ${q(t.table)}.ts = p.ts`).join("\n     ")}
     WHERE p.asset_id = ${READ_ASSET} AND p.ts <= ${READ_AS_OF}) joined`;
}

const sqlCache = new Map<string, string>();

/**
 * Feature-store input columns of an asset up to `asOf`: all of them (default) or the named ones, over the
 * whole history or on the given days only (those the asset has bars on come back, oldest first).
 */
export async function loadFeatureInputs(
  db: Pool | PoolClient,
  assetId: number,
  asOf: string,
  opts: { columns?: readonly string[]; days?: readonly string[] } = {},
): Promise<FeatureInputs> {
  const columns = opts.columns ?? FEATURE_INPUT_COLUMNS;
  for (const c of columns) if (!FEATURE_INPUT_COLUMNS.includes(c as never)) throw new Error(`loadFeatureInputs: columns: ${JSON.stringify(c)} is not a feature-store input column`);
  const key = `${opts.days ? "days:" : ""}${columns.join(",")}`;
  let from = sqlCache.get(key);
  if (from === undefined) sqlCache.set(key, (from = joined(columns, opts.days !== undefined)));
  const { dates, cols } = await readColumns(db, columns.map((c) => q(c)), from, { assetId, asOf, days: opts.days });
  const out: FeatureInputs = { dates } as FeatureInputs;
  columns.forEach((c, i) => (out[c] = cols[i]!));
  return out;
}
