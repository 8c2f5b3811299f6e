// `npm run enqueue -- <command> [options]`: the producer CLI.
import { parseArgs } from "node:util";
import { config } from "../ops/config.ts";
import { createLogger } from "../ops/logger.ts";
import { resolveUrls } from "../ops/bootstrap.ts";
import { enqueue } from "../queues/enqueue.ts";
import { Fleet } from "../queues/fleet.ts";
import { dailyRefresh } from "../queues/flows/daily-refresh.ts";
import { PayloadError, isoDate, symbol } from "../queues/kind.ts";
import { maintenanceKind } from "../queues/registry.ts";
import { formatSummary, waitForRun } from "./progress.ts";

const HELP = `ta-fleet enqueue — add work to the fleet

Usage: npm run enqueue -- <command> [options]

Commands:
  daily-refresh  The feature pipeline, signals and backtests for each asset as of a day.
      --assets A,B       Symbols (default: DAILY_REFRESH_ASSETS)
      --as-of YYYY-MM-DD Day of the run (default: today, UTC)
      --rerun N          Run the same day again as a new run (N = 1, 2, ...)
      --wait             Show progress until the run ends; exit 1 unless every asset completed
      --timeout S        With --wait: give up after S seconds (default 900)
  smoke          One maintenance job that writes a row to PostgreSQL (proves producer → Redis → worker → DB).
      --id ID            Job id suffix (default: a timestamp)
      --message TEXT     Stored with the row
      --wait             Wait for the job to finish

Environment: see README (REDIS_URL, DATABASE_URL, QUEUE_PREFIX, ...). Without REDIS_URL/DATABASE_URL the
embedded local stack under .data/ is used (started if needed).
`;

class UsageError extends Error {}

function check<T>(schema: { safeParse(v: unknown): { success: true; data: T } | { success: false; error: { issues: { message: string }[] } } }, flag: string, value: unknown): T {
  const r = schema.safeParse(value);
  if (!r.success) throw new UsageError(`${flag}: ${r.error.issues[0]!.message} (got ${JSON.stringify(value)})`);
  return r.data;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === "--help" || command === "-h" || command === "help") {
    process.stdout.write(HELP);
    return 0;
  }
  const { values } = parseArgs({
    args: rest,
    strict: true,
    options: {
      assets: { type: "string" },
      "as-of": { type: "string" },
      rerun: { type: "string" },
      wait: { type: "boolean", default: false },
      timeout: { type: "string" },
      id: { type: "string" },
      message: { type: "string" },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const cfg = config();
  const timeoutS = values.timeout === undefined ? 900 : Number(values.timeout);
  if (!(timeoutS > 0)) throw new UsageError(`--timeout: must be a positive number of seconds (got ${JSON.stringify(values.timeout)})`);
  // Validate everything before touching Redis: bad input enqueues nothing.
  let run: () => Promise<number>;
  const log = createLogger({ service: "enqueue", level: cfg.LOG_LEVEL === "info" ? "warn" : cfg.LOG_LEVEL, pretty: cfg.LOG_PRETTY });
  let fleet: Fleet | undefined;
  const connect = async () => {
    const { redisUrl } = await resolveUrls(cfg, log);
    fleet = new Fleet({ redisUrl, prefix: cfg.QUEUE_PREFIX, name: "ta-fleet:cli" });
    return fleet;
  };
  switch (command) {
    case "daily-refresh": {
      const assets = (values.assets?.split(",").map((a) => a.trim()).filter(Boolean) ?? [...cfg.DAILY_REFRESH_ASSETS]).map((a) => check(symbol, "--assets", a));
      if (!assets.length) throw new UsageError("--assets: at least one symbol is required");
      const asOf = check(isoDate, "--as-of", values["as-of"] ?? new Date().toISOString().slice(0, 10));
      const rerun = values.rerun === undefined ? undefined : Number(values.rerun);
      if (rerun !== undefined && !(Number.isInteger(rerun) && rerun >= 1 && rerun <= 999)) throw new UsageError(`--rerun: must be an integer 1..999 (got ${JSON.stringify(values.rerun)})`);
      run = async () => {
        const f = await connect();
        const r = await dailyRefresh(f, assets, asOf, rerun ? { rerun } : {});
        process.stdout.write(`${r.created ? "enqueued" : "already enqueued"} run ${r.runId} (root job ${r.rootJobId}) for ${assets.join(", ")}\n`);
        if (!values.wait) return 0;
        const summary = await waitForRun(f, r.rootJobId, assets, { asOf, ...(rerun ? { rerun } : {}) }, { timeoutMs: timeoutS * 1000 });
        process.stdout.write(`${formatSummary(summary)}\n`);
        return summary.status === "completed" ? 0 : 1;
      };
      break;
    }
    case "smoke": {
      const payload = { task: "smoke" as const, id: values.id ?? `cli-${Date.now()}`, message: values.message ?? "hello from the CLI" };
      run = async () => {
        const f = await connect();
        const job = await enqueue(f, maintenanceKind, payload);
        process.stdout.write(`enqueued smoke job ${job.id}\n`);
        if (!values.wait) return 0;
        const { QueueEvents } = await import("bullmq");
        const events = new QueueEvents(maintenanceKind.name, { connection: f.redis.duplicate(), prefix: f.prefix });
        try {
          const result = await job.waitUntilFinished(events, timeoutS * 1000);
          process.stdout.write(`completed: ${JSON.stringify(result)}\n`);
          return 0;
        } finally {
          await events.close();
        }
      };
      break;
    }
    default:
      throw new UsageError(`unknown command ${JSON.stringify(command)}; see --help`);
  }
  try {
    return await run();
  } finally {
    await fleet?.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    const usage = err instanceof UsageError || err instanceof PayloadError || (err as { code?: string }).code?.startsWith("ERR_PARSE_ARGS");
    process.stderr.write(`ta-fleet enqueue: ${(err as Error).message}\n`);
    process.exit(usage ? 2 : 1);
  },
);
