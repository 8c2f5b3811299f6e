import { escapeIdentifier } from "pg";
import type { Pool, PoolClient } from "../pool.ts";
import { upsertColumns, type ColumnData, type TableSpec } from "./columns.ts";
import { EMA_COLUMNS } from "./feature-tables.ts";

type Db = Pool | PoolClient;

export interface SignalConfig {
  signal_id: number;
  signal_type: "ema_crossover" | "rsi_mean_revert" | "atr_breakout";
  signal_name: string;
  params: Record<string, unknown>;
  is_active: boolean;
}

/** Ids of active strategy configurations, in id order (the strategies gate adds one chain per asset for each). */
export async function activeSignalIds(pool: Db): Promise<number[]> {
  const { rows } = await pool.query<{ signal_id: number }>("SELECT signal_id FROM dim_signals WHERE is_active ORDER BY signal_id");
  return rows.map((r) => r.signal_id);
}

export async function getSignal(db: Db, signalId: number): Promise<SignalConfig | undefined> {
  const { rows } = await db.query<SignalConfig>("SELECT signal_id, signal_type, signal_name, params, is_active FROM dim_signals WHERE signal_id = $1", [signalId]);
  return rows[0];
}

export async function insertSignal(db: Db, type: string, name: string, params: unknown, active = true): Promise<SignalConfig> {
  const { rows } = await db.query<SignalConfig>(
    `INSERT INTO dim_signals (signal_type, signal_name, params, is_active) VALUES ($1, $2, $3, $4)
     RETURNING signal_id, signal_type, signal_name, params, is_active`,
    [type, name, JSON.stringify(params), active],
  );
  return rows[0]!;
}

export type SignalFeatures = { dates: string[] } & Record<string, Float64Array>;

export const SIGNAL_FEATURE_COLUMNS = Object.freeze(["open", "high", "low", "close", ...EMA_COLUMNS, "rsi_14", "atr_14"]);
const SELECT_LIST = SIGNAL_FEATURE_COLUMNS.map((c) => escapeIdentifier(c)).join(", ");

/** The daily feature store's columns the strategies read, oldest first. */
export async function loadSignalFeatures(db: Db, assetId: number, asOf: string): Promise<SignalFeatures> {
  const { rows } = await db.query(
    `SELECT to_char(ts, 'YYYY-MM-DD') AS ts, ${SELECT_LIST} FROM daily_features WHERE asset_id = $1 AND ts <= $2 ORDER BY ts`,
    [assetId, asOf],
  );
  const out = { dates: rows.map((r) => r.ts as string) } as SignalFeatures;
  for (const c of SIGNAL_FEATURE_COLUMNS) out[c] = Float64Array.from(rows, (r) => (r[c] === null ? NaN : Number(r[c])));
  return out;
}

const POSITION_KEYS = [["asset_id", "int4"], ["signal_id", "int4"], ["entry_ts", "date"]] as const;
const POSITION_VALUES = [
  ["direction", "text"], ["signal_state", "text"], ["entry_price", "float8"], ["exit_ts", "date"], ["exit_price", "float8"],
  ["feature_version_hash", "text"], ["feature_snapshot", "jsonb"],
] as const;

export const SIGNAL_TABLES: Record<SignalConfig["signal_type"], TableSpec> = Object.freeze({
  ema_crossover: Object.freeze({ table: "signals_ema_crossover", keys: POSITION_KEYS, values: POSITION_VALUES }),
  rsi_mean_revert: Object.freeze({ table: "signals_rsi_mean_revert", keys: POSITION_KEYS, values: POSITION_VALUES }),
  atr_breakout: Object.freeze({
    table: "signals_atr_breakout",
    keys: POSITION_KEYS,
    values: [...POSITION_VALUES, ["breakout_type", "text"], ["channel_high", "float8"], ["channel_low", "float8"]] as const,
  }),
});

/** Upserts position rows; unchanged positions are not rewritten. */
export function upsertPositions(db: Db, type: SignalConfig["signal_type"], data: ColumnData, rows: number): Promise<number> {
  return upsertColumns(db, SIGNAL_TABLES[type], data, rows);
}
