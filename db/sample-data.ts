// The sample data shipped in data/ (see data/README.md), loaded by `npm start` and `npm run demo`.
import { resolve } from "node:path";
import type { Pool } from "./pool.ts";
import type { Session } from "./repos/assets.ts";
import { importPrices } from "./import/import-prices.ts";

export const SAMPLE_DATA: ReadonlyArray<{ symbol: string; file: string; session: Session }> = Object.freeze([
  { symbol: "BTC-USD", file: "BTC-USD_daily.csv", session: "CRYPTO" },
  { symbol: "ETH-USD", file: "ETH-USD_daily.csv", session: "CRYPTO" },
  { symbol: "SPY", file: "SPY_daily.csv", session: "EQUITY" },
  { symbol: "NASDAQ", file: "NASDAQ_daily.csv", session: "EQUITY" },
]);

export const DATA_DIR = resolve(import.meta.dirname, "../data");

export async function loadSampleData(pool: Pool): Promise<Array<{ symbol: string; rows: number; written: number }>> {
  const out = [];
  for (const s of SAMPLE_DATA) out.push({ symbol: s.symbol, ...(await importPrices(pool, resolve(DATA_DIR, s.file), s.symbol, s.session)) });
  return out;
}
