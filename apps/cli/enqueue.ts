// `npm run enqueue -- <command> [options]`: the producer CLI. Commands live in producers/commands/.
import { parseArgs } from "node:util";
import type { Context } from "@opentelemetry/api";
import { config } from "../../ops/config.ts";
import { createLogger } from "../../ops/logger.ts";
import { resolveUrls } from "../bootstrap.ts";
import { stopStack } from "../../ops/embedded/stack.ts";
import { startObservability, type Observability } from "../observability.ts";
import { cliInterrupts } from "../../ops/shutdown.ts";
import { producerSpan } from "../../ops/telemetry.ts";
import { Fleet } from "../../queues/fleet.ts";
import { PayloadError } from "../../queues/kind.ts";
import { UsageError, type CommandContext } from "../../producers/commands/command.ts";
import { COMMANDS } from "../../producers/commands/index.ts";

const HELP = `ta-fleet enqueue — add work to the fleet

Usage: npm run enqueue -- <command> [options]

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(14)} ${c.summary}\n${c.help}`).join("\n")}

Environment: see README (REDIS_URL, DATABASE_URL, QUEUE_PREFIX, ...). Without REDIS_URL/DATABASE_URL the
embedded local stack under .data/ is used (started if needed).
`;

async function main(argv: string[], signal: AbortSignal): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || ["--help", "-h", "help"].includes(name)) {
    process.stdout.write(HELP);
    return 0;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) throw new UsageError(`unknown command ${JSON.stringify(name)}; see --help`);
  const { values, positionals } = parseArgs({
    args: rest,
    strict: true,
    allowPositionals: command.positionals ?? false,
    options: { ...command.options, help: { type: "boolean", short: "h", default: false } },
  });
  if (values.help) {
    process.stdout.write(`Usage: npm run enqueue -- ${command.name} [options]\n\n${command.summary}\n\n${command.help}\n`);
    return 0;
  }
  const cfg = config();
  const action = command.prepare(values, positionals, cfg);
  const log = createLogger({ service: "enqueue", level: cfg.LOG_LEVEL ?? "warn", format: cfg.LOG_FORMAT });
  let urls: ReturnType<typeof resolveUrls> | undefined;
  let fleet: Fleet | undefined;
  let producer: Promise<{ obs: Observability; span: ReturnType<typeof producerSpan> }> | undefined;
  const ctx: CommandContext = {
    cfg,
    out: process.stdout,
    signal,
    databaseUrl: async () => (await (urls ??= resolveUrls(cfg, log))).databaseUrl,
    fleet: async () => (fleet ??= new Fleet({ redisUrl: (await (urls ??= resolveUrls(cfg, log))).redisUrl, prefix: cfg.QUEUE_PREFIX, name: "ta-fleet:cli" })),
    // What the command enqueues continues this span's trace; it is exported like any process's spans.
    trace: async (): Promise<Context> => {
      producer ??= (async () => {
        const { databaseUrl, redisUrl } = await (urls ??= resolveUrls(cfg, log));
        const obs = startObservability({ service: "producer", cfg, log, databaseUrl, redisUrl });
        return { obs, span: producerSpan(obs.telemetry.tracer, `enqueue ${command.name}`) };
      })();
      return (await producer).span.context;
    },
  };
  try {
    // Stopped before it began: nothing is enqueued.
    signal.throwIfAborted();
    return await action(ctx);
  } finally {
    // A producer that failed to start has already failed the command; here only what did start is closed.
    const p = await producer?.catch(() => undefined);
    p?.span.span.end();
    await p?.obs.close();
    await fleet?.close();
    // A one-off command leaves nothing running; what it enqueued waits in Redis's append-only file.
    const started = urls ? (await urls).started : [];
    if (started.length) await stopStack(cfg.DATA_DIR, started);
  }
}

// What was enqueued before an interruption stays queued (a flow is added atomically); only the waiting stops.
const interrupts = cliInterrupts();
main(process.argv.slice(2), interrupts.signal).then(
  (code) => interrupts.exit(code),
  (err: unknown) => {
    const usage = err instanceof UsageError || err instanceof PayloadError || String((err as { code?: string }).code).startsWith("ERR_PARSE_ARGS");
    process.stderr.write(`ta-fleet enqueue: ${(err as Error).message}\n`);
    interrupts.exit(usage ? 2 : 1);
  },
);
