// `npm run soak`: a long steady state through the real worker processes. SOAK_JOBS no-op maintenance `smoke`
// jobs (unique ids) are enqueued in waves that keep the backlog under SOAK_BACKLOG — the queue never holds
// them all — while a daily refresh of the sample assets runs every SOAK_REFRESH_EVERY_S as a new run (the
// next free rerun number, as `--rerun next` picks it), on 2 `apps/worker/main.ts` processes with telemetry
// on. Each worker's RSS (/proc) and live V8 heap (bench/soak-probe.mjs) and Redis used_memory are sampled;
// at the end every smoke id must have exactly one fleet_smoke row that ran once, and every run completed.
import { mkdirSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { commandLine, usageError } from "../apps/command-line.ts";
import { commonLastDay } from "../db/repos/coverage.ts";
import { SAMPLE_DATA } from "../db/sample-data.ts";
import { cliInterrupts } from "../ops/shutdown.ts";
import { nextFreeRerun } from "../producers/runs.ts";
import { waitForJob } from "../producers/progress.ts";
import { flowNode } from "../queues/enqueue.ts";
import { Fleet } from "../queues/fleet.ts";
import { dailyRefresh } from "../queues/flows/daily-refresh.ts";
import type { RunSummary } from "../queues/kinds/flow.ts";
import { flowKind, maintenanceKind } from "../queues/registry.ts";
import { benchEnv, type BenchEnv } from "./env.ts";
import { ends, type Window } from "./soak-growth.ts";
import { int, logProblems, mb, pct, redisKeys, redisUsedMb, smokeRows, spread, tableSizes } from "./soak-report.ts";
import { exitedWorker, freshMemory, killWorkers, startWorkers, stopWorkers, waitReady, workerMemory, type SoakWorker, type WorkerMemory } from "./soak-workers.ts";

const USAGE = `Usage: npm run soak

SOAK_JOBS no-op smoke jobs plus a daily refresh every SOAK_REFRESH_EVERY_S through 2 worker processes;
reports worker RSS and heap after warm-up vs at the end, Redis used_memory, table sizes, lost and
duplicated jobs, and ends with one JSON line. Variables (defaults):
  SOAK_JOBS (1000000)          smoke jobs, each with its own id
  SOAK_SECONDS (7200)          cap on the enqueueing phase; the jobs enqueued by then are the run
  SOAK_REFRESH_EVERY_S (180)   a new daily-refresh run this often (the next starts after the last ended)
  SOAK_BACKLOG (10000)         waiting jobs the producer keeps at most
  SOAK_SAMPLE_S (10)           memory sampling interval
  SOAK_WARMUP (0.1)            share of SOAK_JOBS done (and one refresh run finished) that ends warm-up
  SOAK_ARTIFACTS (test-artifacts/soak)  where worker logs, memory probes and every sample go
Servers: the embedded dev ones (DATA_DIR, EMBED_*_PORT, or REDIS_URL / DATABASE_URL), in a database and
key prefix of the soak's own.
`;
commandLine("soak", USAGE);

function envNumber(key: string, def: number, check: (n: number) => boolean, rule: string): number {
  const raw = process.env[key];
  if (raw === undefined || raw === "") return def;
  const n = Number(raw);
  return check(n) ? n : usageError("soak", USAGE, `${key}: must be ${rule} (got ${JSON.stringify(raw)})`);
}
const positiveInt = (key: string, def: number) => envNumber(key, def, (n) => Number.isInteger(n) && n > 0, "a positive integer");

const JOBS = positiveInt("SOAK_JOBS", 1_000_000);
const CAP_S = positiveInt("SOAK_SECONDS", 7_200);
const REFRESH_EVERY_S = positiveInt("SOAK_REFRESH_EVERY_S", 180);
const BACKLOG = positiveInt("SOAK_BACKLOG", 10_000);
const SAMPLE_S = positiveInt("SOAK_SAMPLE_S", 10);
const WARMUP = envNumber("SOAK_WARMUP", 0.1, (n) => n > 0 && n < 1, "a fraction between 0 and 1");
const WORKERS = 2; // the Procfile's default formation
const WAVE = Math.min(1_000, BACKLOG);
// Start-up (servers, database, sample data, workers), the drain, the last refresh run and the stop all fit
// in this, on top of the enqueueing cap; past it the soak stops and fails.
const OVERHEAD_S = 600;
const DRAIN_S = 300;
const RUN_TIMEOUT_S = 300;
const PRINT_EVERY_S = 30;
const ID_PREFIX = "soak-";
const ASSETS = SAMPLE_DATA.map((s) => s.symbol);
// Its own directory per concurrent soak (the fault suite's short one uses another): the probes are files.
const ARTIFACTS = resolve(import.meta.dirname, "..", process.env.SOAK_ARTIFACTS ?? "test-artifacts/soak");

interface Sample {
  /** Seconds since the first enqueue. */
  t: number;
  done: number;
  backlog: number;
  redisMb: number;
  /** Taken while the producer was still enqueueing (steady state), not while draining. */
  steady: boolean;
  workers: WorkerMemory[];
}

interface RefreshRun {
  runId: string;
  rerun: number;
  status: RunSummary["status"];
  seconds: number;
}

console.log(
  `soak: ${int(JOBS)} smoke jobs (backlog ≤ ${int(BACKLOG)}) and a daily refresh of ${ASSETS.join(", ")} every ${REFRESH_EVERY_S} s on ${WORKERS} worker processes; enqueueing capped at ${CAP_S} s; artifacts in ${ARTIFACTS}`,
);
const started = Date.now();
const interrupts = cliInterrupts({ graceMs: 90_000 });
const stop = new AbortController();
const deadline = setTimeout(() => stop.abort(new Error(`the overall deadline (${CAP_S + OVERHEAD_S} s) passed`)), (CAP_S + OVERHEAD_S) * 1000).unref();
const signal = AbortSignal.any([interrupts.signal, stop.signal]);
const pause = (ms: number) =>
  sleep(ms, undefined, { signal }).catch(() => {
    throw signal.reason;
  });

let env: BenchEnv | undefined;
let fleet: Fleet | undefined;
let workers: SoakWorker[] = [];
process.on("exit", () => killWorkers(workers));
let code = 0;
try {
  mkdirSync(ARTIFACTS, { recursive: true });
  env = await benchEnv("soak");
  fleet = new Fleet({ redisUrl: env.redisUrl, prefix: env.prefix, name: "soak-producer" });
  const asOf = await commonLastDay(env.pool, ASSETS);
  if (!asOf) throw new Error(`the sample data has no common last day for ${ASSETS.join(", ")}`);
  const redisStart = await redisUsedMb(fleet.redis);
  workers = await startWorkers(WORKERS, env, ARTIFACTS, { probeMs: (SAMPLE_S * 1000) / 2 });
  await waitReady(workers, 120_000);
  console.log(`${WORKERS} workers ready after ${((Date.now() - started) / 1000).toFixed(0)} s (pids ${workers.map((w) => w.pid).join(", ")})`);
  const result = await soak(env, fleet, asOf, redisStart);
  console.log(JSON.stringify(result));
} catch (err) {
  code = 1;
  console.error(`soak failed: ${(err as Error).message}`);
} finally {
  clearTimeout(deadline);
  // After a failure or an interrupt as after success: nothing the soak started outlives it.
  await stopWorkers(workers, 20_000);
  await fleet?.close();
  await env?.close().catch((err: Error) => console.error(`soak cleanup: ${err.message}`));
}
interrupts.exit(code);

async function soak(env: BenchEnv, fleet: Fleet, asOf: string, redisStart: number) {
  const queue = fleet.queue(maintenanceKind);
  const samples: Sample[] = [];
  const runs: RefreshRun[] = [];
  let warm: number | undefined;
  let produced = 0;
  let producing = true;
  const t0 = Date.now();
  const backlogOf = async () => {
    const c = await queue.getJobCounts("waiting", "active", "delayed", "prioritized");
    return (c.waiting ?? 0) + (c.active ?? 0) + (c.delayed ?? 0) + (c.prioritized ?? 0);
  };

  const produce = async () => {
    const capAt = t0 + CAP_S * 1000;
    while (produced < JOBS && Date.now() < capAt) {
      if ((await queue.getWaitingCount()) + WAVE > BACKLOG) {
        await pause(20);
        continue;
      }
      const wave = Array.from({ length: Math.min(WAVE, JOBS - produced) }, (_, i) => {
        const { name, data, opts } = flowNode(fleet, maintenanceKind, { task: "smoke", id: `${ID_PREFIX}${produced + i}`, message: "soak" });
        return { name, data, opts };
      });
      await queue.addBulk(wave);
      produced += wave.length;
    }
  };

  // One run at a time: the next starts SOAK_REFRESH_EVERY_S after the previous started, or when it ended.
  const refresh = async () => {
    for (let next = Date.now(); producing; ) {
      if (Date.now() < next) {
        await pause(Math.min(250, next - Date.now()));
        continue;
      }
      const began = Date.now();
      next = began + REFRESH_EVERY_S * 1000;
      const rerun = await nextFreeRerun(fleet, env.pool, ASSETS, asOf);
      const r = await dailyRefresh(fleet, ASSETS, asOf, { rerun });
      const { state, job } = await waitForJob(fleet.queue(flowKind), r.rootJobId, `run ${r.runId}`, { timeoutMs: RUN_TIMEOUT_S * 1000, signal });
      runs.push({ runId: r.runId, rerun, status: state === "completed" ? (job.returnvalue as RunSummary).status : "failed", seconds: Math.round((Date.now() - began) / 1000) });
    }
  };

  const sampler = async () => {
    for (let i = 0, next = Date.now(); producing; i++, next += SAMPLE_S * 1000) {
      // Short steps: the drain starts as soon as the producer is done, not a sampling interval later.
      while (producing && Date.now() < next) await pause(Math.min(250, next - Date.now()));
      if (!producing) break;
      const gone = exitedWorker(workers);
      if (gone) throw new Error(gone);
      const backlog = await backlogOf();
      const s: Sample = { t: Math.round((Date.now() - t0) / 1000), done: produced - backlog, backlog, redisMb: await redisUsedMb(fleet.redis), steady: producing, workers: workers.map(workerMemory) };
      samples.push(s);
      if (warm === undefined && s.done >= WARMUP * JOBS && runs.length > 0) warm = samples.length - 1;
      if (i % Math.max(1, Math.round(PRINT_EVERY_S / SAMPLE_S)) === 0) console.log(progress(s, runs));
    }
  };

  // Any task failing stops the others: the first failure is the one reported.
  const failed = new AbortController();
  failed.signal.addEventListener("abort", () => stop.abort(failed.signal.reason), { once: true });
  const guard = (task: Promise<void>) => task.catch((err: unknown) => failed.abort(err));
  await Promise.all([guard(produce().finally(() => void (producing = false))), guard(refresh()), guard(sampler())]);
  if (failed.signal.aborted) throw failed.signal.reason;
  const capped = produced < JOBS;

  for (const until = Date.now() + DRAIN_S * 1000; (await backlogOf()) > 0; await pause(200)) {
    const gone = exitedWorker(workers);
    if (gone) throw new Error(gone);
    if (Date.now() > until) throw new Error(`the smoke queue did not drain within ${DRAIN_S} s (${await backlogOf()} jobs left)`);
  }
  const soakSeconds = (Date.now() - t0) / 1000;
  const drained = await freshMemory(workers, Date.now(), SAMPLE_S * 2_000);
  const redisEnd = await redisUsedMb(fleet.redis);
  const redis = await redisKeys(fleet.redis, env.prefix, maintenanceKind.name);
  const failedJobs = (await queue.getJobCounts("failed")).failed ?? 0;
  // Stopped before the tables are read: their last spans and metrics are flushed on the way out.
  const exitCodes = await stopWorkers(workers, 60_000);

  const rows = await smokeRows(env.pool, `smoke.${ID_PREFIX}`);
  const tables = await tableSizes(env.pool);
  const steady = warm === undefined ? [] : samples.slice(warm).filter((s) => s.steady);
  const perWorker = workers.map((w, i) => {
    const heap = ends(steady, (s) => s.workers[i]!.heapMb);
    // RSS is compared between samples without a compute thread (the fewest OS threads): one lives for 30 s
    // after each refresh run's stages and adds tens of MB, so mixing the two states measures the schedule.
    const fewest = Math.min(...steady.map((s) => s.workers[i]!.threads));
    const rss = ends(steady.filter((s) => s.workers[i]!.threads === fewest), (s) => s.workers[i]!.rssMb) ?? ends(steady, (s) => s.workers[i]!.rssMb);
    if (!heap || !rss) throw new Error(`${steady.length} steady-state samples after warm-up (${int(WARMUP * JOBS)} jobs done and one refresh run) are too few to compare: run more jobs or sample more often`);
    return { name: w.name, pid: w.pid, exitCode: exitCodes[i], rss, heap, drained: drained[i]!, log: logProblems(w.logFile) };
  });
  const redisSteady = ends(steady, (s) => s.redisMb)!;
  const [redisWarm, redisLate] = [redisSteady.first.value, redisSteady.last.value];
  const redisMax = Math.max(redisStart, redisEnd, ...samples.map((s) => s.redisMb));
  const completedRuns = runs.filter((r) => r.status === "completed").length;
  const result = {
    bench: "soak",
    jobs: produced,
    rss_growth: Number(Math.max(...perWorker.map((w) => w.rss.growth)).toFixed(3)),
    heap_growth: Number(Math.max(...perWorker.map((w) => w.heap.growth)).toFixed(3)),
    redis_mb_start: mb(redisStart),
    redis_mb_warm: mb(redisWarm),
    // Same load as after warm-up (the producer keeps the backlog full): a plateau has these two alike.
    redis_mb_late: mb(redisLate),
    redis_mb_end: mb(redisEnd),
    redis_mb_max: mb(redisMax),
    lost: produced - rows.rows,
    duplicates: rows.duplicates,
    failed: failedJobs,
    runs: runs.length,
    runs_completed: completedRuns,
    jobs_per_s: Math.round(produced / soakSeconds),
    capped,
    seconds: Math.round((Date.now() - started) / 1000),
  };

  const where = (w: Window) => `${w.t[0]}–${w.t[1]} s, ${int(w.done[0])}–${int(w.done[1])} jobs`;
  for (const w of perWorker) {
    console.log(
      `${w.name}: RSS ${mb(w.rss.first.value)} → ${mb(w.rss.last.value)} MB (${pct(w.rss.growth)}; ${where(w.rss.first)} → ${where(w.rss.last)}), heap after GC ${mb(w.heap.first.value)} → ${mb(w.heap.last.value)} MB (${pct(w.heap.growth)}; ${where(w.heap.first)} → ${where(w.heap.last)}); drained: RSS ${mb(w.drained.rssMb)} MB, heap ${mb(w.drained.heapMb)} MB; peak RSS ${mb(w.drained.peakRssMb)} MB; exit ${w.exitCode}; logged ${w.log.warnings} warnings, ${w.log.errors} errors${w.log.messages.length ? `: ${w.log.messages.join(" | ")}` : ""}`,
    );
  }
  const curve = spread(samples, 12).map((s) => `${s.t}s ${mb(s.redisMb)}`).join(", ");
  console.log(`redis used_memory: start ${mb(redisStart)} MB, after warm-up ${mb(redisWarm)} MB, before the drain ${mb(redisLate)} MB, end ${mb(redisEnd)} MB (drained), max ${mb(redisMax)} MB; curve: ${curve}`);
  console.log(`redis keys under the soak's prefix at the end: ${int(redis.keys)}; completed smoke jobs retained: ${int(redis.retainedCompleted)}`);
  console.log(`tables: ${tables.map((t) => `${t.table} ${t.mb} MB (${int(t.rows)} rows)`).join(", ")}`);
  console.log(
    `smoke jobs: ${int(produced)} enqueued${capped ? ` (capped at ${CAP_S} s)` : ""} in ${soakSeconds.toFixed(0)} s (${int(result.jobs_per_s)} jobs/s); rows ${int(rows.rows)}, lost ${result.lost}, ran twice ${rows.duplicates}, failed ${failedJobs}`,
  );
  console.log(`refresh runs: ${completedRuns}/${runs.length} completed (${runs.map((r) => `r${r.rerun} ${r.status} ${r.seconds} s`).join(", ")})`);
  writeFileSync(resolve(ARTIFACTS, "soak.json"), `${JSON.stringify({ result, workers: perWorker, runs, tables, redis, samples }, null, 1)}\n`);
  return result;
}

function progress(s: Sample, runs: RefreshRun[]): string {
  const mem = s.workers.map((w, i) => `w${i + 1} rss ${mb(w.rssMb)} heap ${mb(w.heapMb)}`).join(", ");
  const rate = s.t ? ` (${int(s.done / s.t)}/s)` : "";
  return `[${String(s.t).padStart(5)} s] ${int(s.done)}/${int(JOBS)} done${rate}, backlog ${int(s.backlog)}; redis ${mb(s.redisMb)} MB; ${mem} MB; refresh runs ${runs.filter((r) => r.status === "completed").length}/${runs.length} completed`;
}
