// `npm run demo`: the main job once, end to end, with in-process workers; exits 0 or non-zero with the reason.
import { config } from "../../ops/config.ts";
import { createLogger } from "../../ops/logger.ts";
import { resolveUrls } from "../bootstrap.ts";
import { stopStack } from "../../ops/embedded/stack.ts";
import { createPool } from "../../db/pool.ts";
import { Fleet } from "../../queues/fleet.ts";
import { KINDS, type KindName } from "../../queues/registry.ts";
import type { JobKind } from "../../queues/kind.ts";
import { buildProcessors } from "../../workers/processors.ts";
import { createFleetComputePool } from "../../workers/threads/fleet-pool.ts";
import { createWorker, type FleetWorker } from "../../workers/runtime.ts";
import { startWorkerObservability, type WorkerObservability } from "../worker/observability.ts";
import { cliInterrupts } from "../../ops/shutdown.ts";
import { producerSpan } from "../../ops/telemetry.ts";
import { prepareDatabase, runMainJob } from "./main-job.ts";
import { commandLine } from "../command-line.ts";

const { values: args } = commandLine(
  "demo",
  `Usage: npm run demo [-- --rerun]

Runs the fleet's main job once with in-process workers — migrations, sample data, then the daily refresh of
the sample assets — prints its summary and exits 0 when the run completed, 1 otherwise. When that day ran
already, the first line says so and the existing run's result is shown.

Options:
  --rerun   Run the day again as a new run (the lowest free rerun number)
`,
  { options: { rerun: { type: "boolean" } } },
);
const cfg = config();
const log = createLogger({ service: "demo", level: cfg.LOG_LEVEL ?? "warn", format: cfg.LOG_FORMAT });
const t0 = Date.now();
// Ctrl-C stops the run's waiting; the finally below then closes the workers (active jobs go back to the queue).
const interrupts = cliInterrupts({ log, graceMs: cfg.WORKER_SHUTDOWN_MS + 15_000 });
const stopped = new Promise((resolve) => interrupts.signal.addEventListener("abort", resolve, { once: true }));
const stack = await resolveUrls(cfg, log);
const pool = createPool(stack.databaseUrl);
const fleet = new Fleet({ redisUrl: stack.redisUrl, prefix: cfg.QUEUE_PREFIX, name: "ta-fleet:demo" });
const compute = createFleetComputePool(cfg.COMPUTE_THREADS);
const workers: FleetWorker<JobKind>[] = [];
let telemetry: WorkerObservability | undefined;
let code = 0;
try {
  const asOf = await prepareDatabase(stack.databaseUrl, log);
  telemetry = startWorkerObservability({ service: "demo", cfg, log, databaseUrl: stack.databaseUrl, redisUrl: stack.redisUrl });
  const hooks = telemetry.hooks;
  const processors = buildProcessors({ pool, fleet, cfg, log, compute });
  for (const [name, processor] of Object.entries(processors)) {
    const w = createWorker(KINDS[name as KindName] as JobKind, processor, {
      redisUrl: stack.redisUrl,
      prefix: cfg.QUEUE_PREFIX,
      log,
      concurrency: cfg.WORKER_CONCURRENCY,
      hooks,
    });
    workers.push(w.start());
  }
  // The producer span: every job of the run continues its trace.
  const producer = producerSpan(telemetry.obs.telemetry.tracer, "demo main-job", { "run.as_of": asOf });
  const { summary, text } = await runMainJob({ redisUrl: stack.redisUrl, databaseUrl: stack.databaseUrl, cfg, asOf, rerun: args.rerun === true, parent: producer.context, abort: stopped }).finally(() => producer.span.end());
  process.stdout.write(`${text}\ndemo finished in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
  if (summary.status !== "completed") code = 1;
} catch (err) {
  process.stderr.write(`ta-fleet demo failed: ${interrupts.signal.aborted ? (interrupts.signal.reason as Error).message : (err as Error).message}\n`);
  code = 1;
} finally {
  await Promise.allSettled(workers.map((w) => w.close()));
  await telemetry?.close();
  await compute.close();
  await fleet.close();
  await pool.end().catch((err: Error) => log.debug({ err: err.message }, "closing the pool failed"));
  if (stack.started.length) await stopStack(cfg.DATA_DIR, stack.started).catch((err: Error) => log.warn({ err: err.message }, "stopping the embedded servers failed"));
}
interrupts.exit(code);
