// `npm run import -- <file.csv> --symbol X --session CRYPTO|EQUITY`
import { parseArgs } from "node:util";
import { bootstrap } from "../ops/bootstrap.ts";
import { symbol as symbolSchema } from "../queues/kind.ts";
import { ImportError, importPrices } from "./import/import-prices.ts";

function usage(msg: string): never {
  process.stderr.write(`ta-fleet import: ${msg}\nusage: npm run import -- <file.csv> --symbol X --session CRYPTO|EQUITY\n`);
  process.exit(2);
}

let parsed;
try {
  parsed = parseArgs({ allowPositionals: true, options: { symbol: { type: "string" }, session: { type: "string" } } });
} catch (err) {
  usage((err as Error).message);
}
const { values, positionals } = parsed;
if (positionals.length !== 1) usage(`expected one CSV file (got ${positionals.length})`);
if (!values.symbol || !symbolSchema.safeParse(values.symbol).success) usage(`--symbol: must be 1-24 letters, digits, ^ = _ - (got ${JSON.stringify(values.symbol)})`);
if (values.session !== "CRYPTO" && values.session !== "EQUITY") usage(`--session: must be CRYPTO or EQUITY (got ${JSON.stringify(values.session)})`);

const rt = await bootstrap("import", { oneShot: true });
try {
  const r = await importPrices(rt.pool, positionals[0]!, values.symbol, values.session);
  process.stdout.write(`${values.symbol}: ${r.rows} rows valid, ${r.written} written${r.written ? "" : " (already up to date)"}\n`);
  await rt.shutdown.shutdown("done");
} catch (err) {
  process.stderr.write(`ta-fleet import: ${(err as Error).message}\n`);
  await rt.shutdown.shutdown("failed", err instanceof ImportError ? 2 : 1);
}
