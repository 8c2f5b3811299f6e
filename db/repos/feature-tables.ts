// The feature tables' columns (db/migrations/005_features.sql), as frozen specs for the columnar writer.
import type { PgType, TableSpec } from "./columns.ts";

export const RETURN_COLUMNS = Object.freeze([
  "ret_1_pct", "ret_1_log", "ret_2_pct", "ret_2_log", "ret_3_pct", "ret_3_log", "ret_5_pct",
  "ret_5_log", "ret_7_pct", "ret_7_log", "ret_10_pct", "ret_10_log", "ret_14_pct", "ret_14_log",
  "ret_21_pct", "ret_21_log", "ret_30_pct", "ret_30_log", "ret_60_pct", "ret_60_log", "ret_90_pct",
  "ret_90_log", "ret_180_pct", "ret_180_log", "ret_365_pct", "ret_365_log",
] as const);
export const VOL_COLUMNS = Object.freeze([
  "vol_parkinson", "vol_gk", "vol_rs", "vol_parkinson_20", "vol_gk_20", "vol_rs_20", "atr_14",
] as const);
export const TA_COLUMNS = Object.freeze([
  "rsi_14", "macd", "macd_signal", "macd_hist", "stoch_k", "stoch_d", "bb_mid", "bb_upper",
  "bb_lower", "adx_14", "plus_di_14", "minus_di_14",
] as const);
export const EMA_COLUMNS = Object.freeze([
  "ema_5", "ema_9", "ema_10", "ema_21", "ema_50", "ema_100", "ema_200",
] as const);

const f8 = (names: readonly string[]) => names.map((n) => [n, "float8"] as const);
const DAY_KEYS = [["asset_id", "int4"], ["ts", "date"]] as const;
const EMA_VALUES = f8(["ema", "d1", "d2", "d1_close", "d2_close"]);

const spec = (table: string, keys: ReadonlyArray<readonly [string, PgType]>, values: ReadonlyArray<readonly [string, PgType]>): TableSpec =>
  Object.freeze({ table, keys: Object.freeze(keys), values: Object.freeze(values) });

export const EMA_DAILY = spec("ema_daily", [...DAY_KEYS, ["period", "int4"]], EMA_VALUES);
export const EMA_MULTI_TF = spec("ema_multi_tf", [...DAY_KEYS, ["tf", "text"], ["period", "int4"]], [...EMA_VALUES, ["roll", "bool"], ["is_canonical", "bool"]]);
export const RETURNS_DAILY = spec("returns_daily", DAY_KEYS, f8(RETURN_COLUMNS));
export const VOL_DAILY = spec("vol_daily", DAY_KEYS, f8(VOL_COLUMNS));
export const TA_DAILY = spec("ta_daily", DAY_KEYS, f8(TA_COLUMNS));

/** Derived columns of the feature store beyond the stage outputs. */
export const OUTLIER_COLUMNS = Object.freeze(["ret_1_log_outlier_z", "ret_1_log_outlier_iqr", "vol_parkinson_outlier_z", "vol_parkinson_outlier_iqr", "is_outlier"] as const);
export const ZSCORE_COLUMNS = Object.freeze(["ret_1_log_z252", "vol_parkinson_20_z252", "rsi_14_z252", "atr_14_z252"] as const);

export const DAILY_FEATURES = spec("daily_features", DAY_KEYS, [
  ["asset_class", "text"],
  ...f8(["open", "high", "low", "close", "volume", ...EMA_COLUMNS, ...RETURN_COLUMNS, ...VOL_COLUMNS, ...TA_COLUMNS]),
  ...OUTLIER_COLUMNS.map((n) => [n, "bool"] as const),
  ...f8(ZSCORE_COLUMNS),
]);
