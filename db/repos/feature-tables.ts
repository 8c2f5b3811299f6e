// The feature tables (db/migrations/005_features.sql) as frozen specs for the columnar writer. Their value
// columns derive from the indicator declarations (compute/indicators/catalog.ts); a declared column that no
// migration created fails its stage's first write, naming the table.
import type { PgType, TableSpec } from "./columns.ts";
import { FEATURE_COLUMNS, stageColumns } from "../../compute/indicators/catalog.ts";
import { OUTLIER_COLUMNS, ZSCORE_COLUMNS, type TableStage } from "../../compute/indicators/stages.ts";

const f8 = (names: readonly string[]) => names.map((n) => [n, "float8"] as const);
const DAY_KEYS = [["asset_id", "int4"], ["ts", "date"]] as const;
const EMA_VALUES = f8(["ema", "d1", "d2", "d1_close", "d2_close"]);

const spec = (table: string, keys: ReadonlyArray<readonly [string, PgType]>, values: ReadonlyArray<readonly [string, PgType]>): TableSpec =>
  Object.freeze({ table, keys: Object.freeze(keys), values: Object.freeze(values) });

export const EMA_DAILY = spec("ema_daily", [...DAY_KEYS, ["period", "int4"]], EMA_VALUES);
export const EMA_MULTI_TF = spec("ema_multi_tf", [...DAY_KEYS, ["tf", "text"], ["period", "int4"]], [...EMA_VALUES, ["roll", "bool"], ["is_canonical", "bool"]]);

const wide = (table: string, stage: TableStage) => spec(table, DAY_KEYS, f8(stageColumns(stage)));

/** One row per asset-day, one column per declared column of the stage's indicators. */
export const STAGE_TABLES: Readonly<Record<TableStage, TableSpec>> = Object.freeze({
  returns: wide("returns_daily", "returns"),
  volatility: wide("vol_daily", "volatility"),
  ta: wide("ta_daily", "ta"),
});

export const PRICE_COLUMNS = Object.freeze(["open", "high", "low", "close", "volume"] as const);

export const DAILY_FEATURES = spec("daily_features", DAY_KEYS, [
  ["asset_class", "text"],
  ...f8([...PRICE_COLUMNS, ...FEATURE_COLUMNS]),
  ...OUTLIER_COLUMNS.map((n) => [n, "bool"] as const),
  ...f8(ZSCORE_COLUMNS),
]);
