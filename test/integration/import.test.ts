import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { importPrices } from "../../db/import/import-prices.ts";
import { parsePrices } from "../../db/import/parse-prices.ts";
import { DATA_DIR, SAMPLE_DATA, loadSampleData } from "../../db/sample-data.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/db.ts";

let db: TestDatabase;
const dir = mkdtempSync(join(tmpdir(), "import-"));
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db.drop());

const file = (name: string, body: string) => {
  const f = join(dir, name);
  writeFileSync(f, body);
  return f;
};
const count = async () => (await db.pool.query("SELECT count(*)::int AS n FROM prices_daily")).rows[0].n as number;

describe("price import", () => {
  it("lists every bad row with its line number and reason", () => {
    const { problems } = parsePrices(
      [
        "date,open,high,low,close,volume",
        "2022-01-01,10,12,9,11,100",
        "2022-01-02,10,9,8,9.5,100", // high < open
        "2022-01-03,-1,12,9,11,100",
        "2022-01-03,10,12,9,11,100", // duplicate date (2022-01-03 row above was invalid but its date counts)
        "2022-01-05,10,12,10.5,11,100", // low > min(open, close)
        "2022-01-04,10,12,9,11,100", // unsorted
        "2022-01-06,10,12,9,11,-5",
        "2022-02-30,10,12,9,11,1",
        "2022-03-01,abc,12,9,11,1",
        "2022-03-02,1,2,1",
      ].join("\n"),
    );
    expect(problems.map((p) => p.line)).toEqual([3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect(problems[0]!.reason).toMatch(/high 9 < max\(open, close\) 10/);
    expect(problems[1]!.reason).toMatch(/open must be positive \(got -1\)/);
    expect(problems[2]!.reason).toMatch(/duplicate date 2022-01-03/);
    expect(problems[3]!.reason).toMatch(/low 10.5 > min\(open, close\) 10/);
    expect(problems[4]!.reason).toMatch(/not after 2022-01-05/);
    expect(problems[5]!.reason).toMatch(/volume must be ≥ 0/);
    expect(problems[6]!.reason).toMatch(/not a YYYY-MM-DD calendar date/);
    expect(problems[7]!.reason).toMatch(/open "abc" is not a number/);
    expect(problems[8]!.reason).toMatch(/expected 6 fields, got 4/);
  });

  it("any bad row → nothing is written, and the error names the lines", async () => {
    const before = await count();
    const f = file("bad.csv", "date,open,high,low,close,volume\n2022-01-01,10,12,9,11,100\n2022-01-02,10,9,8,9.5,100\n");
    await expect(importPrices(db.pool, f, "BAD", "CRYPTO")).rejects.toThrow(/1 bad row\(s\), nothing imported:\n {2}line 3: high 9 < max/);
    expect(await count()).toBe(before);
    expect((await db.pool.query("SELECT count(*)::int AS n FROM assets WHERE symbol = 'BAD'")).rows[0].n).toBe(0);
  });

  it("valid files upsert; a re-import is a no-op; a revised bar is rewritten alone", async () => {
    const f = file("ok.csv", "date,open,high,low,close,volume\n2022-01-01,10,12,9,11,100\n2022-01-02,11,13,10,12,50\n");
    expect(await importPrices(db.pool, f, "OKAY", "CRYPTO")).toEqual({ rows: 2, written: 2 });
    expect(await importPrices(db.pool, f, "OKAY", "CRYPTO")).toEqual({ rows: 2, written: 0 });
    const g = file("ok2.csv", "date,open,high,low,close,volume\n2022-01-01,10,12,9,11,100\n2022-01-02,11,13,10,12.5,50\n");
    expect(await importPrices(db.pool, g, "OKAY", "CRYPTO")).toEqual({ rows: 2, written: 1 });
    await expect(importPrices(db.pool, f, "OKAY", "EQUITY")).rejects.toThrow(/exists with session CRYPTO/);
  });

  it("loads the shipped sample data (real files, all valid)", async () => {
    const loaded = await loadSampleData(db.pool);
    expect(loaded.map((l) => l.symbol)).toEqual(SAMPLE_DATA.map((s) => s.symbol));
    const { rows } = await db.pool.query<{ symbol: string; n: number }>("SELECT symbol, count(*)::int AS n FROM prices_daily JOIN assets USING (asset_id) WHERE symbol IN ('BTC-USD','ETH-USD','SPY','NASDAQ') GROUP BY 1 ORDER BY 1");
    expect(rows).toEqual([
      { symbol: "BTC-USD", n: 2982 },
      { symbol: "ETH-USD", n: 1833 },
      { symbol: "NASDAQ", n: 2068 },
      { symbol: "SPY", n: 6067 },
    ]);
    expect(DATA_DIR).toMatch(/data$/);
  });
});
