// The `worker` process: `node --import tsx apps/worker/main.ts [--queues stage,backtest] [--concurrency 4]`.
// Scale horizontally by running more of them (Procfile worker=N, or more hosts on the same Redis).
import { Fleet } from "../../queues/fleet.ts";
import { KINDS, selectKinds, type KindName } from "../../queues/registry.ts";
import { config } from "../../ops/config.ts";
import { bootstrap } from "../bootstrap.ts";
import { commandLine } from "../command-line.ts";
import { startHealthServer } from "../../ops/health.ts";
import { standardProbes } from "../probes.ts";
import { buildProcessors } from "../../workers/processors.ts";
import { startWorkerObservability } from "./observability.ts";
import { createFleetComputePool } from "../../workers/threads/fleet-pool.ts";
import { createWorker, type FleetWorker } from "../../workers/runtime.ts";
import { samplingPlan, type SamplingPlan } from "../../workers/sampling.ts";
import type { JobKind } from "../../queues/kind.ts";

const USAGE = `Usage: npm run worker -- [--queues a,b] [--concurrency N]

Consumes the fleet's queues until SIGINT/SIGTERM (Procfile \`worker\`; scale by running more).
  --queues a,b       the queues to consume (default WORKER_QUEUES, else every kind)
  --concurrency N    jobs in flight per queue, 1..1000 (default WORKER_CONCURRENCY)
`;

function flags() {
  const { values } = commandLine("worker", USAGE, { options: { queues: { type: "string" }, concurrency: { type: "string" } } });
  // The lists (and TRACE_SAMPLING's queue names) are checked before anything connects, with the same rule;
  // a bad WORKER_QUEUES is an error even where --queues overrides it, like any other bad variable.
  const configured = kinds(config().WORKER_QUEUES, "WORKER_QUEUES");
  const queues = values.queues === undefined ? configured : kinds(values.queues.split(",").map((q) => q.trim()).filter(Boolean), "--queues");
  const concurrency = values.concurrency === undefined ? undefined : Number(values.concurrency);
  if (concurrency !== undefined && !(Number.isInteger(concurrency) && concurrency > 0 && concurrency <= 1000)) {
    usage(`--concurrency: must be an integer 1..1000 (got ${JSON.stringify(values.concurrency)})`);
  }
  let sampling: SamplingPlan;
  try {
    sampling = samplingPlan(config().TRACE_SAMPLING);
  } catch (err) {
    return usage((err as Error).message);
  }
  return { queues, concurrency, sampling };
}

function kinds(names: readonly string[] | undefined, key: string): KindName[] {
  try {
    return selectKinds(names, key);
  } catch (err) {
    return usage((err as Error).message);
  }
}

function usage(msg: string): never {
  process.stderr.write(`ta-fleet worker: ${msg}\n`);
  process.exit(2);
}

const args = flags();
const rt = await bootstrap("worker");
// Registered first, so it closes after the workers: their last spans and metrics are flushed.
const telemetry = startWorkerObservability({ service: "worker", cfg: rt.cfg, log: rt.log, databaseUrl: rt.databaseUrl, redisUrl: rt.redisUrl, deps: rt.deps, sampling: args.sampling });
rt.shutdown.add("observability", () => telemetry.close());
const fleet = new Fleet({ redisUrl: rt.redisUrl, prefix: rt.cfg.QUEUE_PREFIX, name: "ta-fleet:worker-producer", onError: (err) => rt.deps.report(err, "redis:fleet") });
rt.shutdown.add("fleet", () => fleet.close());
const compute = createFleetComputePool(rt.cfg.COMPUTE_THREADS);
rt.shutdown.add("compute", () => compute.close());
const processors = buildProcessors({ pool: rt.pool, fleet, cfg: rt.cfg, log: rt.log, compute });
const workers: FleetWorker<JobKind>[] = [];
for (const q of args.queues) {
  const w = createWorker(KINDS[q] as JobKind, processors[q], {
    redisUrl: rt.redisUrl,
    prefix: rt.cfg.QUEUE_PREFIX,
    log: rt.log,
    concurrency: args.concurrency ?? rt.cfg.WORKER_CONCURRENCY,
    shutdownMs: rt.cfg.WORKER_SHUTDOWN_MS,
    hooks: telemetry.hooks,
    deps: rt.deps,
    outage: { toleranceMs: rt.cfg.OUTAGE_TOLERANCE_S * 1000, baseDelayMs: 1_000, maxDelayMs: rt.cfg.OUTAGE_RETRY_MAX_MS },
  });
  workers.push(w.start());
}
// Closers run last-registered-first: workers stop (finishing active jobs) before the fleet and pool close.
rt.shutdown.add("workers", () => Promise.all(workers.map((w) => w.close())));
await Promise.all(workers.map((w) => w.waitUntilReady()));
const healthPort = rt.cfg.HEALTH_PORT ?? rt.cfg.PORT;
if (healthPort) {
  const health = await startHealthServer(healthPort, rt.cfg.WEB_HOST, standardProbes(rt, { workers: workers.map((w) => w.worker) }));
  rt.shutdown.add("health", () => health.close());
}
rt.log.info({ queues: workers.map((w) => w.kind.name), concurrency: args.concurrency ?? rt.cfg.WORKER_CONCURRENCY, healthPort }, "worker ready");
