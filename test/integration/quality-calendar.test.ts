// The equity calendar the quality checks read (migration 047: a table kept by triggers on prices_daily, behind
// the equity_trading_days view) holds exactly the days the view's old definition gave: the days on which
// any equity asset has a bar, through inserts, upserts, deletes and a change of session.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { upsertAsset } from "../../db/repos/assets.ts";
import { equityTradingDays } from "../../db/repos/quality.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/db.ts";

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db.drop();
});

/** What equity_trading_days was before migration 047: a DISTINCT over every equity bar. */
async function derived(): Promise<string[]> {
  const { rows } = await db.pool.query<{ d: string }>(
    `SELECT DISTINCT to_char(p.ts, 'YYYY-MM-DD') AS d FROM prices_daily p JOIN assets a USING (asset_id) WHERE a.session_type = 'EQUITY' ORDER BY 1`,
  );
  return rows.map((r) => r.d);
}

const calendar = () => equityTradingDays(db.pool, "1900-01-01", "2100-01-01");

const bars = (assetId: number, days: string[]) =>
  db.pool.query(
    `INSERT INTO prices_daily AS p (asset_id, ts, open, high, low, close, volume) SELECT $1, d, 1, 1, 1, 1, 1 FROM unnest($2::date[]) d
     ON CONFLICT (asset_id, ts) DO UPDATE SET close = p.close + 1`,
    [assetId, days],
  );

describe("the equity calendar", () => {
  it("follows the equity bars: crypto bars add no day, a day stays while any equity asset has a bar on it", async () => {
    const spy = await upsertAsset(db.pool, "CAL-E1", "EQUITY");
    const qqq = await upsertAsset(db.pool, "CAL-E2", "EQUITY");
    const btc = await upsertAsset(db.pool, "CAL-C", "CRYPTO");
    await bars(spy.asset_id, ["2024-01-02", "2024-01-03", "2024-01-04"]);
    await bars(qqq.asset_id, ["2024-01-03", "2024-01-05"]);
    await bars(btc.asset_id, ["2024-01-06", "2024-01-07"]);
    expect(await calendar()).toEqual(["2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05"]);
    // An upsert over existing bars (an UPDATE) and a new one in the same statement.
    await bars(spy.asset_id, ["2024-01-04", "2024-01-08"]);
    expect(await calendar()).toEqual(await derived());
    await db.pool.query("DELETE FROM prices_daily WHERE asset_id = $1 AND ts IN ('2024-01-03', '2024-01-04')", [spy.asset_id]);
    // 01-03 is still one of the other equity asset's days; 01-04 is nobody's.
    expect(await calendar()).toEqual(["2024-01-02", "2024-01-03", "2024-01-05", "2024-01-08"]);
    await db.pool.query("UPDATE assets SET session_type = 'EQUITY' WHERE asset_id = $1", [btc.asset_id]);
    expect(await calendar()).toEqual(["2024-01-02", "2024-01-03", "2024-01-05", "2024-01-06", "2024-01-07", "2024-01-08"]);
    expect(await calendar()).toEqual(await derived());
  });
});
