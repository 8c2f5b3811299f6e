// `npm run import -- <file.csv> --symbol X --session CRYPTO|EQUITY`
import { bootstrap } from "../bootstrap.ts";
import { commandLine, usageError } from "../command-line.ts";
import { SYMBOL_RULE, symbol as symbolSchema } from "../../queues/kind.ts";
import { ImportError, importPrices } from "../../db/import/import-prices.ts";

const USAGE = `Usage: npm run import -- <file.csv> --symbol X --session CRYPTO|EQUITY

Validates every row of a daily OHLCV file (date,open,high,low,close,volume) and upserts it into prices_daily in
one transaction: any bad row writes nothing (exit 2, the lines and reasons), a re-import writes nothing new.
  --symbol X         the asset: a letter or digit, then at most 24 letters, digits, ".", "_", "-"
  --session S        CRYPTO (every calendar day) or EQUITY (trading days)
`;

function usage(msg: string): never {
  return usageError("import", USAGE, msg);
}

const { values, positionals } = commandLine("import", USAGE, { options: { symbol: { type: "string" }, session: { type: "string" } }, positionals: true });
if (positionals.length !== 1) usage(`expected one CSV file (got ${positionals.length})`);
if (!values.symbol || !symbolSchema.safeParse(values.symbol).success) usage(`--symbol: ${SYMBOL_RULE} (got ${JSON.stringify(values.symbol)})`);
if (values.session !== "CRYPTO" && values.session !== "EQUITY") usage(`--session: must be CRYPTO or EQUITY (got ${JSON.stringify(values.session)})`);

const rt = await bootstrap("import", { oneShot: true });
// Registered last, so a signal stops the import (rolled back) before the pool it runs on is closed.
const stop = new AbortController();
const running = importPrices(rt.pool, positionals[0]!, values.symbol, values.session, { maxBytes: rt.cfg.IMPORT_MAX_BYTES, signal: stop.signal });
rt.shutdown.add("import", () => {
  stop.abort();
  return running.catch(() => {
    // The import's own outcome (and its error) is reported by the try below; shutdown only waits for it.
  });
});
try {
  const r = await running;
  process.stdout.write(`${values.symbol}: ${r.rows} rows valid, ${r.written} written${r.written ? "" : " (already up to date)"}\n`);
  await rt.shutdown.shutdown("done");
} catch (err) {
  const interrupted = stop.signal.aborted;
  process.stderr.write(`ta-fleet import: ${interrupted ? "interrupted; nothing imported" : (err as Error).message}\n`);
  await rt.shutdown.shutdown("failed", err instanceof ImportError && !interrupted ? 2 : 1);
}
