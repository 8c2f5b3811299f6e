// `npm run config:check`: parse the environment and print the effective config with secrets redacted.
import { SECRET_KEYS, config } from "../../ops/config.ts";
import { cliInterrupts } from "../../ops/shutdown.ts";
import { commandLine } from "../command-line.ts";

commandLine(
  "config:check",
  `Usage: npm run config:check

Parses the environment as every process does and prints the effective configuration as JSON, secrets
redacted; a bad variable exits 2 naming it. The variables: README, "Configuration".
`,
);
// A reader that stops early (`| head`) ends the process quietly instead of with an EPIPE stack trace.
const interrupts = cliInterrupts();
const cfg = config();
const shown = Object.fromEntries(Object.entries(cfg).map(([k, v]) => [k, SECRET_KEYS.has(k) && v !== undefined ? "[redacted]" : v]));
process.stdout.write(`${JSON.stringify(shown, null, 2)}\n`);
interrupts.exit(0);
