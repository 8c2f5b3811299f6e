// `npm run cost -- [--since YYYY-MM-DD] [--by provider|model|day]`: what LLM calls cost, from the ledger.
import { createPool } from "../../db/pool.ts";
import { costReport, type CostGrouping, type CostRow } from "../../db/repos/llm-ledger.ts";
import { resolveUrls } from "../bootstrap.ts";
import { commandLine, usageError } from "../command-line.ts";
import { cliInterrupts } from "../../ops/shutdown.ts";
import { config } from "../../ops/config.ts";
import { createLogger } from "../../ops/logger.ts";

const BY: readonly CostGrouping[] = ["provider", "model", "day"];

const USAGE = "Usage: npm run cost -- [--since YYYY-MM-DD] [--by provider|model|day]\n  LLM calls, tokens and cost from the ledger (default: the last 30 days, by provider).\n";
function fail(msg: string): never {
  return usageError("cost", USAGE, msg);
}

function args() {
  const { values } = commandLine("cost", USAGE, { options: { since: { type: "string" }, by: { type: "string", default: "provider" } } });
  if (!BY.includes(values.by as CostGrouping)) fail(`--by: must be one of ${BY.join(", ")} (got ${JSON.stringify(values.by)})`);
  const since = values.since === undefined ? new Date(Date.now() - 30 * 86_400_000) : new Date(`${values.since}T00:00:00Z`);
  if (values.since !== undefined && (!/^\d{4}-\d{2}-\d{2}$/.test(values.since) || Number.isNaN(since.getTime()))) fail(`--since: must be a date YYYY-MM-DD (got ${JSON.stringify(values.since)})`);
  return { since, by: values.by as CostGrouping };
}

function formatReport(rows: CostRow[], since: Date, by: CostGrouping): string {
  const head = ["", "calls", "ok", "failed", "tokens in", "tokens out", "cost USD", "avg ms"];
  const line = (key: string, r: Omit<CostRow, "key">) => [key, r.calls, r.ok, r.failed, r.inputTokens, r.outputTokens, r.costUsd.toFixed(6), r.avgLatencyMs === null ? "-" : Math.round(r.avgLatencyMs)].map(String);
  const sum = (f: (r: CostRow) => number) => rows.reduce((a, r) => a + f(r), 0);
  const timed = sum((r) => r.timedCalls);
  const total = {
    calls: sum((r) => r.calls),
    ok: sum((r) => r.ok),
    failed: sum((r) => r.failed),
    inputTokens: sum((r) => r.inputTokens),
    outputTokens: sum((r) => r.outputTokens),
    costUsd: sum((r) => r.costUsd),
    timedCalls: timed,
    avgLatencyMs: timed ? sum((r) => (r.avgLatencyMs ?? 0) * r.timedCalls) / timed : null,
  };
  const table = [head, ...rows.map((r) => line(r.key, r)), line("total", total)];
  const widths = head.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  const fmt = (row: string[]) => row.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  return [`LLM calls since ${since.toISOString().slice(0, 10)} by ${by}`, ...table.map(fmt)].join("\n");
}

const { since, by } = args();
const interrupts = cliInterrupts();
const cfg = config();
const { databaseUrl } = await resolveUrls(cfg, createLogger({ service: "cost", level: cfg.LOG_LEVEL ?? "warn", format: cfg.LOG_FORMAT }));
const pool = createPool(databaseUrl, { max: 1, applicationName: "ta-fleet:cost" });
let code = 0;
try {
  const report = formatReport(await costReport(pool, since, by), since, by);
  if (!interrupts.signal.aborted) process.stdout.write(`${report}\n`);
} catch (err) {
  const msg = (err as Error).message;
  process.stderr.write(`ta-fleet cost: ${/llm_calls/.test(msg) ? `no ledger table: run \`npm run migrate\` first (${msg})` : msg}\n`);
  code = 2;
} finally {
  await pool.end();
}
interrupts.exit(code);
