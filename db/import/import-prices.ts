// All-or-nothing import of one CSV: every row is validated first; any bad row → nothing written and the
// error lists line numbers and reasons. Valid files upsert in one transaction (a re-import is a no-op).
import { readFileSync } from "node:fs";
import { inTransaction, type Pool } from "../pool.ts";
import { upsertAsset, type Session } from "../repos/assets.ts";
import { upsertPrices } from "../repos/prices.ts";
import { parsePrices } from "./parse-prices.ts";

export class ImportError extends Error {
  override name = "ImportError";
}

const MAX_LISTED = 50;

export async function importPrices(pool: Pool, file: string, symbol: string, session: Session): Promise<{ rows: number; written: number }> {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new ImportError(`cannot read ${file}: ${(err as Error).message}`, { cause: err });
  }
  const { rows, problems } = parsePrices(text);
  if (problems.length) {
    const listed = problems.slice(0, MAX_LISTED).map((p) => `  line ${p.line}: ${p.reason}`);
    const more = problems.length > MAX_LISTED ? [`  … and ${problems.length - MAX_LISTED} more`] : [];
    throw new ImportError(`${file}: ${problems.length} bad row(s), nothing imported:\n${[...listed, ...more].join("\n")}`);
  }
  const written = await inTransaction(pool, async (client) => {
    const asset = await upsertAsset(client, symbol, session);
    return upsertPrices(client, asset.asset_id, rows);
  });
  return { rows: rows.length, written };
}
