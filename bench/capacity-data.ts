// bench:capacity's data: copies of the sample assets under new symbols (the same real bars, so a batch of
// one kind is several jobs of real work), and "the next day": one more bar per asset, imported through the
// product's import as a daily feed would, so incremental runs have a new bar to process.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { importPrices } from "../db/import/import-prices.ts";
import type { Pool } from "../db/pool.ts";
import type { Session } from "../db/repos/assets.ts";
import { DATA_DIR, SAMPLE_DATA } from "../db/sample-data.ts";

/** Copy 1 is the sample asset itself; copy c (a number ≥ 2 or a label) is `<symbol>.<c>`. */
export const copyOf = (symbol: string, copy: number | string): string => (copy === 1 ? symbol : `${symbol}.${copy}`);

/** Imports the sample files as each of `copies` (copy 1 is already loaded with the sample data). */
export async function importCopies(pool: Pool, copies: Array<number | string>): Promise<void> {
  for (const c of copies) {
    if (c === 1) continue;
    for (const s of SAMPLE_DATA) await importPrices(pool, resolve(DATA_DIR, s.file), copyOf(s.symbol, c), s.session);
  }
}

const DAY_MS = 86_400_000;

/** The next session day: any day for CRYPTO, the next weekday for EQUITY. */
function nextDay(date: string, session: Session): string {
  let t = Date.parse(`${date}T00:00:00Z`) + DAY_MS;
  while (session === "EQUITY" && [0, 6].includes(new Date(t).getUTCDay())) t += DAY_MS;
  return new Date(t).toISOString().slice(0, 10);
}

/**
 * One more bar for each of `symbols` (its next session day, flat at its last close, its last volume),
 * imported; returns the latest new date (a run as of that day covers every asset's new bar).
 */
export async function appendBar(pool: Pool, symbols: readonly string[]): Promise<string> {
  const { rows } = await pool.query<{ symbol: string; session_type: Session; d: string; close: number; volume: number }>(
    `SELECT a.symbol, a.session_type, to_char(p.ts, 'YYYY-MM-DD') AS d, p.close, p.volume
     FROM assets a CROSS JOIN LATERAL (SELECT ts, close, volume FROM prices_daily WHERE asset_id = a.asset_id ORDER BY ts DESC LIMIT 1) p
     WHERE a.symbol = ANY($1)`,
    [symbols],
  );
  if (rows.length !== symbols.length) throw new Error(`appendBar: ${symbols.length - rows.length} of ${symbols.length} assets have no bars`);
  const dir = mkdtempSync(join(tmpdir(), "bench-capacity-"));
  let latest = "";
  try {
    for (const r of rows) {
      const day = nextDay(r.d, r.session_type);
      const file = join(dir, `${r.symbol}.csv`);
      writeFileSync(file, `date,open,high,low,close,volume\n${day},${r.close},${r.close},${r.close},${r.close},${r.volume}\n`);
      await importPrices(pool, file, r.symbol, r.session_type);
      if (day > latest) latest = day;
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return latest;
}
