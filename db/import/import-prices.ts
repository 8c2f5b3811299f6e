// All-or-nothing import of one CSV, streamed: the file is read and validated line by line while valid rows
// are copied into a staging table of one transaction, then upserted at the end. Any bad row → rollback,
// nothing written, and the error lists line numbers and reasons. Memory is bounded by the stream buffers,
// not by the file; a re-import writes nothing.
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { StringDecoder } from "node:string_decoder";
import { inTransaction, type Pool } from "../pool.ts";
import { upsertAsset, type Session } from "../repos/assets.ts";
import { copyIntoPriceStaging, createPriceStaging, stagingLine, upsertStagedPrices } from "../repos/prices.ts";
import { PriceCsvValidator } from "./parse-prices.ts";

export class ImportError extends Error {
  override name = "ImportError";
}

export interface ImportOptions {
  /** Files larger than this are refused before anything is read (IMPORT_MAX_BYTES). */
  maxBytes?: number;
  /** Stops the import; what it staged is rolled back. */
  signal?: AbortSignal;
}

const MAX_LISTED = 50;
// A valid row is well under 100 characters; a longer line is cut off so that a file without line breaks
// cannot make the reader hold all of it.
const MAX_LINE = 4096;

export async function importPrices(pool: Pool, file: string, symbol: string, session: Session, opts: ImportOptions = {}): Promise<{ rows: number; written: number }> {
  let size: number;
  try {
    const s = await stat(file);
    if (!s.isFile()) throw new Error("not a regular file");
    size = s.size;
  } catch (err) {
    throw new ImportError(`cannot read ${file}: ${(err as Error).message}`, { cause: err });
  }
  if (opts.maxBytes !== undefined && size > opts.maxBytes) {
    throw new ImportError(`${file}: ${size} bytes is over IMPORT_MAX_BYTES (${opts.maxBytes}); split the file or raise the setting`);
  }
  return inTransaction(pool, async (client) => {
    // The pool's per-statement cap guards jobs; one COPY of a file near IMPORT_MAX_BYTES may outlast it.
    await client.query("SET LOCAL statement_timeout = 0");
    await createPriceStaging(client);
    const check = new PriceCsvValidator(MAX_LISTED);
    await pipeline(createReadStream(file), csvToCopy(check), copyIntoPriceStaging(client), { signal: opts.signal }).catch((err: NodeJS.ErrnoException) => {
      throw err.path === file ? new ImportError(`cannot read ${file}: ${err.message}`, { cause: err }) : err;
    });
    check.end();
    if (check.problemCount) {
      const listed = check.problems.map((p) => `  line ${p.line}: ${p.reason}`);
      const more = check.problemCount > listed.length ? [`  … and ${check.problemCount - listed.length} more`] : [];
      throw new ImportError(`${file}: ${check.problemCount} bad row(s), nothing imported:\n${[...listed, ...more].join("\n")}`);
    }
    // After the rows: a refused file creates no asset, and a concurrent import of the same new symbol
    // waits here only for the other's commit.
    const asset = await upsertAsset(client, symbol, session);
    return { rows: check.rows, written: await upsertStagedPrices(client, asset.asset_id) };
  });
}

/**
 * Bytes in, COPY text out: splits lines, validates each, and passes valid rows on. After the first bad row
 * nothing more is copied (the transaction will be rolled back) but every line is still checked.
 */
function csvToCopy(check: PriceCsvValidator): Transform {
  const decoder = new StringDecoder("utf8");
  let rest = "";
  let overlong = false;
  const convert = (text: string, final: boolean): string => {
    const lines = (rest + text).split("\n");
    rest = final ? "" : lines.pop()!;
    let out = "";
    for (const line of lines) {
      const valid = overlong ? check.tooLong(MAX_LINE) : check.push(line);
      overlong = false;
      if (valid && !check.problemCount) out += stagingLine(line);
    }
    if (rest.length > MAX_LINE) {
      overlong = true;
      rest = "";
    }
    return out;
  };
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      const out = convert(decoder.write(chunk), false);
      if (out) this.push(out);
      done();
    },
    flush(done) {
      const out = convert(decoder.end(), true);
      if (out) this.push(out);
      done();
    },
  });
}
