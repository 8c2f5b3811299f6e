import { escapeIdentifier } from "pg";
import type { Pool, PoolClient } from "../pool.ts";
import type { Asset } from "./assets.ts";
import { READ_AS_OF, READ_ASSET, readColumns } from "./column-reads.ts";
import { cacheRead, cachedRead } from "./read-cache.ts";
import { upsertColumns, type ColumnData, type TableSpec } from "./columns.ts";
import { DAILY_FEATURES } from "./feature-tables.ts";
import { STRATEGIES, type SignalType } from "../../compute/signals/catalog.ts";
import type { Features, PositionRow, Strategy } from "../../compute/signals/strategy.ts";

type Db = Pool | PoolClient;

export interface SignalConfig {
  signal_id: number;
  /** A dim_signal_types row; the code looks the strategy up by it (compute/signals/catalog.ts). */
  signal_type: string;
  signal_name: string;
  params: Record<string, unknown>;
  is_active: boolean;
}

/** Ids of active strategy configurations, in id order (the strategies gate adds one chain per asset for each). */
export async function activeSignalIds(pool: Db): Promise<number[]> {
  const { rows } = await pool.query<{ signal_id: number }>("SELECT signal_id FROM dim_signals WHERE is_active ORDER BY signal_id");
  return rows.map((r) => r.signal_id);
}

/** signal_name of each of `ids` still in dim_signals (run summaries name strategies by it). */
export async function signalNames(db: Db, ids: readonly number[]): Promise<Map<number, string>> {
  const { rows } = await db.query<{ signal_id: number; signal_name: string }>("SELECT signal_id, signal_name FROM dim_signals WHERE signal_id = ANY($1::int[])", [ids]);
  return new Map(rows.map((r) => [r.signal_id, r.signal_name]));
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

/** The feature store's numeric columns: what a strategy input reads instead of deriving. */
export const STORE_COLUMNS: ReadonlySet<string> = new Set(DAILY_FEATURES.values.filter(([, t]) => t === "float8").map(([n]) => n));

/**
 * The feature-store columns among `columns` (the others are the strategy's to derive) plus open and close,
 * which every run needs for fills and marks; oldest first.
 */
export async function loadSignalFeatures(db: Db, assetId: number, asOf: string, columns: readonly string[]): Promise<Features> {
  const wanted = [...new Set(["open", "close", ...columns])].filter((c) => STORE_COLUMNS.has(c));
  const { dates, cols } = await readColumns(
    db,
    wanted.map((c) => escapeIdentifier(c)),
    `FROM daily_features WHERE asset_id = ${READ_ASSET} AND ts <= ${READ_AS_OF}`,
    { assetId, asOf },
  );
  const out = { dates } as Features;
  wanted.forEach((c, i) => (out[c] = cols[i]!));
  return out;
}

// The store columns strategies have asked this process for: a cached read fetches them all, so each
// strategy of an asset finds its columns in the one read (a handful: the active strategies' inputs).
const requested = new Set<string>(["open", "close"]);

/**
 * loadSignalFeatures through the pool's read cache (read-cache.ts), by the asset's features_version: the
 * result may hold more store columns than asked for (a strategy reads its own only), and is shared with the
 * asset's other strategy jobs, so callers must not modify it (cachedBars says why it is not frozen).
 */
export async function cachedSignalFeatures(pool: Pool, asset: Pick<Asset, "asset_id" | "features_version">, asOf: string, columns: readonly string[]): Promise<Features> {
  const wanted = columns.filter((c) => STORE_COLUMNS.has(c));
  for (const c of wanted) requested.add(c);
  const key = `features|${asset.asset_id}|${asset.features_version}|${asOf}`;
  const hit = await cachedRead<Features>(pool, key)?.catch(() => undefined);
  if (hit && wanted.every((c) => c in hit)) return hit;
  return cacheRead(pool, key, loadSignalFeatures(pool, asset.asset_id, asOf, [...requested]));
}

const POSITION_KEYS = [["asset_id", "int4"], ["signal_id", "int4"], ["entry_ts", "date"]] as const;
const POSITION_VALUES = [
  ["direction", "text"], ["signal_state", "text"], ["entry_price", "float8"], ["exit_ts", "date"], ["exit_price", "float8"],
  ["feature_version_hash", "text"], ["feature_snapshot", "jsonb"],
] as const;

const signalTable = (s: Strategy): TableSpec =>
  Object.freeze({ table: `signals_${s.type}`, keys: POSITION_KEYS, values: Object.freeze([...POSITION_VALUES, ...s.tableColumns]) });

/** signals_<type> for every declared strategy type: the position lifecycle, then the type's own columns. */
export const SIGNAL_TABLES = Object.freeze(Object.fromEntries(STRATEGIES.map((s) => [s.type, signalTable(s)])) as Record<SignalType, TableSpec>);

/** Upserts one configuration's positions on one asset; unchanged positions are not rewritten. */
export function upsertPositions(db: Db, type: SignalType, assetId: number, signalId: number, rows: readonly PositionRow[]): Promise<number> {
  const spec = SIGNAL_TABLES[type];
  const data: ColumnData = {
    asset_id: rows.map(() => assetId),
    signal_id: rows.map(() => signalId),
    entry_ts: rows.map((r) => r.entryDate),
    direction: rows.map((r) => r.direction),
    signal_state: rows.map((r) => r.status),
    entry_price: rows.map((r) => r.entryPrice),
    exit_ts: rows.map((r) => r.exitDate),
    exit_price: rows.map((r) => r.exitPrice),
    feature_version_hash: rows.map((r) => r.featureVersionHash),
    feature_snapshot: rows.map((r) => JSON.stringify(r.snapshot)),
  };
  for (const [name] of spec.values.slice(POSITION_VALUES.length)) data[name] = rows.map((r) => r.tableValues[name] ?? null);
  return upsertColumns(db, spec, data, rows.length);
}
