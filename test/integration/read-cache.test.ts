// The workers' read cache (db/repos/read-cache.ts) and the data versions it is keyed by (migration 049), on a
// real database: every change to an asset's bars or feature rows, by any statement, bumps that asset's version
// in the change's own transaction; a cached read is served until then and never after.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { importPrices } from "../../db/import/import-prices.ts";
import { findAsset, upsertAsset, type Asset } from "../../db/repos/assets.ts";
import { cachedBars } from "../../db/repos/prices.ts";
import { cachedRead } from "../../db/repos/read-cache.ts";
import { cachedSignalFeatures } from "../../db/repos/signals.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/db.ts";

let db: TestDatabase;
const dir = mkdtempSync(join(tmpdir(), "read-cache-"));
const AS_OF = "2024-01-31";

beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db.drop();
  rmSync(dir, { recursive: true, force: true });
});

const asset = async (symbol: string) => (await findAsset(db.pool, symbol))!;
const versions = async (symbol: string) => {
  const a = await asset(symbol);
  return [Number(a.prices_version), Number(a.features_version)];
};
const csv = (rows: string[]) => {
  const file = join(dir, `${Math.random().toString(36).slice(2)}.csv`);
  writeFileSync(file, ["date,open,high,low,close,volume", ...rows].join("\n"));
  return file;
};
const BARS = ["2024-01-02,10,11,9,10.5,100", "2024-01-03,10.5,12,10,11.5,120", "2024-01-04,11.5,12,11,11,90"];

async function addFeatureRow(a: Asset, ts: string, cols: { ema_9?: number; rsi_14?: number } = {}) {
  await db.pool.query(
    `INSERT INTO daily_features (asset_id, ts, asset_class, open, high, low, close, volume, ema_9, rsi_14)
     VALUES ($1, $2, $3, 1, 2, 0.5, 1.5, 10, $4, $5)`,
    [a.asset_id, ts, a.asset_class, cols.ema_9 ?? null, cols.rsi_14 ?? null],
  );
}

describe("data versions", () => {
  it("any statement changing an asset's bars or feature rows bumps that asset's version once; a rolled-back or no-op change does not", async () => {
    await upsertAsset(db.pool, "VER-A", "EQUITY");
    await upsertAsset(db.pool, "VER-B", "EQUITY");
    expect(await versions("VER-A")).toEqual([0, 0]);
    await importPrices(db.pool, csv(BARS), "VER-A", "EQUITY");
    expect(await versions("VER-A")).toEqual([1, 0]);
    // The same file again writes no row (the upsert skips unchanged bars): nothing changed, no new version.
    await importPrices(db.pool, csv(BARS), "VER-A", "EQUITY");
    expect(await versions("VER-A")).toEqual([1, 0]);
    const a = await asset("VER-A");
    await db.pool.query("UPDATE prices_daily SET close = 11.25 WHERE asset_id = $1 AND ts = '2024-01-04'", [a.asset_id]);
    expect(await versions("VER-A")).toEqual([2, 0]);
    await db.pool.query("DELETE FROM prices_daily WHERE asset_id = $1 AND ts = '2024-01-04'", [a.asset_id]);
    expect(await versions("VER-A")).toEqual([3, 0]);
    const client = await db.pool.connect();
    try {
      await client.query("BEGIN");
      await client.query("INSERT INTO prices_daily (asset_id, ts, open, high, low, close, volume) VALUES ($1, '2024-01-05', 1, 1, 1, 1, 1)", [a.asset_id]);
      await client.query("ROLLBACK");
    } finally {
      client.release();
    }
    expect(await versions("VER-A")).toEqual([3, 0]);
    await addFeatureRow(a, "2024-01-02");
    await db.pool.query("UPDATE daily_features SET ema_9 = 1 WHERE asset_id = $1", [a.asset_id]);
    expect(await versions("VER-A")).toEqual([3, 2]);
    expect(await versions("VER-B")).toEqual([0, 0]);
    await db.pool.query("TRUNCATE daily_features");
    expect(await versions("VER-A")).toEqual([3, 3]);
    expect(await versions("VER-B")).toEqual([0, 1]);
  });
});

describe("read cache", () => {
  it("cachedBars: one read per asset version and day; a change's new version reads the changed bars", async () => {
    await importPrices(db.pool, csv(BARS), "BARS-A", "CRYPTO");
    const before = await asset("BARS-A");
    const first = await cachedBars(db.pool, before, AS_OF);
    expect(first.dates).toEqual(["2024-01-02", "2024-01-03", "2024-01-04"]);
    expect(await cachedBars(db.pool, before, AS_OF)).toBe(first);
    expect(await cachedBars(db.pool, before, "2024-01-03")).not.toBe(first);
    await importPrices(db.pool, csv(["2024-01-04,11.5,12,11,11.75,90"]), "BARS-A", "CRYPTO");
    const after = await asset("BARS-A");
    const changed = await cachedBars(db.pool, after, AS_OF);
    expect(Array.from(changed.close)).toEqual([10.5, 11.5, 11.75]);
    // Another database's pool never sees this one's entries, though ids and versions match.
    const other = await createTestDatabase();
    try {
      expect(await cachedBars(other.pool, after, AS_OF)).toMatchObject({ dates: [] });
    } finally {
      await other.drop();
    }
  });

  it("a failed read is not kept", async () => {
    const a = await asset("BARS-A");
    await expect(cachedBars(db.pool, a, "2024-02-30")).rejects.toThrow(/date/);
    expect(cachedRead(db.pool, `bars|${a.asset_id}|${a.prices_version}|2024-02-30`)).toBeUndefined();
  });

  it("cachedSignalFeatures: one read serves every column asked for so far; a new column or version reads again", async () => {
    await upsertAsset(db.pool, "FEAT-A", "CRYPTO");
    const a0 = await asset("FEAT-A");
    await addFeatureRow(a0, "2024-01-02", { ema_9: 1.25, rsi_14: 40 });
    await addFeatureRow(a0, "2024-01-03", { ema_9: 1.5 });
    const a = await asset("FEAT-A");
    const ema = await cachedSignalFeatures(db.pool, a, AS_OF, ["ema_9", "ema_13"]);
    expect(Array.from(ema.ema_9!)).toEqual([1.25, 1.5]);
    expect(ema.ema_13).toBeUndefined(); // not a store column: the strategy derives it
    const rsi = await cachedSignalFeatures(db.pool, a, AS_OF, ["rsi_14"]);
    expect(rsi).not.toBe(ema);
    expect(Array.from(rsi.rsi_14!)).toEqual([40, NaN]);
    expect(Array.from(rsi.ema_9!)).toEqual([1.25, 1.5]);
    expect(await cachedSignalFeatures(db.pool, a, AS_OF, ["ema_9"])).toBe(rsi);
    await db.pool.query("UPDATE daily_features SET rsi_14 = 45 WHERE asset_id = $1 AND ts = '2024-01-03'", [a.asset_id]);
    const changed = await cachedSignalFeatures(db.pool, await asset("FEAT-A"), AS_OF, ["rsi_14"]);
    expect(Array.from(changed.rsi_14!)).toEqual([40, 45]);
  });
});
