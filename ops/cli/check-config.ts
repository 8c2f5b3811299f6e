// `npm run config:check`: parse the environment and print the effective config with secrets redacted.
import { SECRET_KEYS, config } from "../config.ts";

const cfg = config();
const shown = Object.fromEntries(Object.entries(cfg).map(([k, v]) => [k, SECRET_KEYS.has(k) && v !== undefined ? "[redacted]" : v]));
process.stdout.write(`${JSON.stringify(shown, null, 2)}\n`);
