import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { importPrices } from "../../db/import/import-prices.ts";
import { PriceCsvValidator } from "../../db/import/parse-prices.ts";
import type { Session } from "../../db/repos/assets.ts";
import { DATA_DIR, SAMPLE_DATA, loadSampleData } from "../../db/sample-data.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/db.ts";
import { deletePrefix, redisUrl, uniquePrefix } from "../helpers/redis.ts";

const execFileP = promisify(execFile);
const ROOT = resolve(import.meta.dirname, "../..");

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
const assetCount = async (symbol: string) => (await db.pool.query("SELECT count(*)::int AS n FROM assets WHERE symbol = $1", [symbol])).rows[0].n as number;

/** `n` daily bars from 1800-01-01, all valid except data row `bad` (1-based; its line is bad + 1). */
function bars(name: string, n: number, bad?: number): string {
  const start = Date.UTC(1800, 0, 1);
  const lines = ["date,open,high,low,close,volume"];
  for (let i = 0; i < n; i++) {
    const ts = new Date(start + i * 86_400_000).toISOString().slice(0, 10);
    lines.push(i + 1 === bad ? `${ts},10,9,8,9.5,1` : `${ts},10.5,12.25,9.75,11.125,${1000 + i}`);
  }
  return file(name, `${lines.join("\n")}\n`);
}

/** `npm run import` as a child process, with its peak RSS (KiB) reported by a preload. */
async function importCli(args: string[], env: Record<string, string> = {}) {
  const prefix = uniquePrefix("import");
  const r = await execFileP(process.execPath, ["--import", "tsx", "--import", resolve(ROOT, "test/fixtures/peak-rss.ts"), "apps/cli/import.ts", ...args], {
    cwd: ROOT,
    env: { ...process.env, DATABASE_URL: db.url, REDIS_URL: redisUrl(), QUEUE_PREFIX: prefix, LOG_LEVEL: "warn", LOG_PRETTY: "0", ...env },
    timeout: 120_000,
  }).then(
    (r) => ({ code: 0, ...r }),
    (err: { code: number; stdout: string; stderr: string }) => ({ code: err.code, stdout: err.stdout, stderr: err.stderr }),
  ).finally(() => deletePrefix(prefix));
  return { ...r, peakRssKb: Number(/peak-rss-kb (\d+)/.exec(r.stderr)?.[1]) };
}

describe("price import", () => {
  it("lists every bad row with its line number and reason", () => {
    const validator = new PriceCsvValidator();
    for (const line of [
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
    ]) validator.push(line);
    const { problems } = validator;
    expect(problems.map((p) => p.line)).toEqual([3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect(problems[0]!.reason).toMatch(/high 9 < max\(open, close\) 10/);
    expect(problems[1]!.reason).toMatch(/open must be positive \(got -1\)/);
    expect(problems[2]!.reason).toMatch(/duplicate date 2022-01-03/);
    expect(problems[3]!.reason).toMatch(/low 10.5 > min\(open, close\) 10/);
    expect(problems[4]!.reason).toMatch(/not after 2022-01-05/);
    expect(problems[5]!.reason).toMatch(/volume must be ≥ 0/);
    expect(problems[6]!.reason).toMatch(/not a YYYY-MM-DD calendar date/);
    expect(problems[7]!.reason).toMatch(/open "abc" is not a plain decimal/);
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

  it("streams a large file: 300,000 rows import with the process's memory bounded by its buffers, not the file", async () => {
    const f = bars("large.csv", 300_000);
    const r = await importCli([f, "--symbol", "LARGE", "--session", "CRYPTO"]);
    expect(r.stderr.replace(/peak-rss-kb \d+\n/, "")).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("LARGE: 300000 rows valid, 300000 written\n");
    const { rows } = await db.pool.query(
      `SELECT count(*)::int AS n, min(ts)::text AS first, max(ts)::text AS last, sum(volume)::float8 AS volume
       FROM prices_daily JOIN assets USING (asset_id) WHERE symbol = 'LARGE'`,
    );
    expect(rows[0]).toEqual({ n: 300_000, first: "1800-01-01", last: "2621-05-16", volume: 300_000 * 1000 + (299_999 * 300_000) / 2 });
    // Reading the whole file and parsing it into one array took ~400 MB here; streaming stays near the
    // ~110 MB a CLI needs to start.
    expect(r.peakRssKb).toBeGreaterThan(0);
    expect(r.peakRssKb).toBeLessThan(250 * 1024);
  });

  it("a bad row deep in a large file: nothing written, no asset, the line named", async () => {
    const before = await count();
    await expect(importPrices(db.pool, bars("deep.csv", 200_000, 150_000), "DEEP", "CRYPTO")).rejects.toThrow(
      /: 1 bad row\(s\), nothing imported:\n {2}line 150001: high 9 < max\(open, close\) 10$/,
    );
    expect(await count()).toBe(before);
    expect(await assetCount("DEEP")).toBe(0);
  });

  it("lists the first 50 bad rows and counts the rest", async () => {
    const rows = Array.from({ length: 60 }, (_, i) => `2022-01-${String(i + 1).padStart(2, "0")},x,1,1,1,1`);
    const err = await importPrices(db.pool, file("many.csv", ["date,open,high,low,close,volume", ...rows].join("\n")), "MANY", "CRYPTO").catch((e: Error) => e);
    const lines = String((err as Error).message).split("\n");
    expect(lines[0]).toMatch(/: 60 bad row\(s\), nothing imported:$/);
    expect(lines.filter((l) => /^ {2}line \d+: /.test(l))).toHaveLength(50);
    expect(lines.at(-1)).toBe("  … and 10 more");
  });

  it("refuses a file over IMPORT_MAX_BYTES before reading it, and a bad symbol, with exit 2", async () => {
    const f = bars("capped.csv", 1_000);
    const big = await importCli([f, "--symbol", "CAPPED", "--session", "CRYPTO"], { IMPORT_MAX_BYTES: "1000" });
    expect(big.code).toBe(2);
    expect(big.stderr).toMatch(/^ta-fleet import: .*capped\.csv: \d+ bytes is over IMPORT_MAX_BYTES \(1000\); split the file or raise the setting$/m);
    const sym = await importCli([f, "--symbol", "=cmd", "--session", "CRYPTO"]);
    expect(sym.code).toBe(2);
    expect(sym.stderr).toMatch(/^ta-fleet import: --symbol: must start with a letter or digit .* \(got "=cmd"\)/m);
    expect(await assetCount("CAPPED")).toBe(0);
  });

  it("two concurrent imports of one new symbol both succeed with identical data", async () => {
    const f = bars("twice.csv", 20_000);
    const results = await Promise.all([importPrices(db.pool, f, "TWICE", "EQUITY"), importPrices(db.pool, f, "TWICE", "EQUITY")]);
    expect(results.map((r) => r.rows)).toEqual([20_000, 20_000]);
    // The one that committed second found every bar already there.
    expect(results.map((r) => r.written).sort((a, b) => a - b)).toEqual([0, 20_000]);
    const { rows } = await db.pool.query(
      `SELECT a.session_type, count(*)::int AS n, sum(p.volume)::float8 AS volume
       FROM prices_daily p JOIN assets a USING (asset_id) WHERE a.symbol = 'TWICE' GROUP BY 1`,
    );
    expect(rows).toEqual([{ session_type: "EQUITY", n: 20_000, volume: 20_000 * 1000 + (19_999 * 20_000) / 2 }]);
    // A real mismatch still gets its own error, not a misleading one.
    await expect(importPrices(db.pool, f, "TWICE", "CRYPTO")).rejects.toThrow("asset TWICE exists with session EQUITY, not CRYPTO");
    await expect(importPrices(db.pool, f, "FX", "FOREX" as Session)).rejects.toThrow('session "FOREX" is not in dim_sessions');
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
