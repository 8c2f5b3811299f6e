// `npm run bench:fleet`: the whole fleet at research-lab scale. BENCH_ASSETS synthetic assets (seeded GBM,
// bench/fleet-assets.ts; half CRYPTO, half EQUITY, BENCH_YEARS of history) are imported through the
// product's import (db/import/import-prices.ts, what `npm run import` runs: one all-or-nothing transaction
// per file), then the daily refresh of all of them — exactly the flow `npm run enqueue -- daily-refresh`
// adds (queues/flows/daily-refresh.ts: every stage, every active strategy's signal and backtest, quality) —
// runs on 2 real `apps/worker/main.ts` processes as the backfill; then one more bar per asset is imported
// (the next day) and the daily refresh as of that day runs as the incremental day.
//
// Per phase (generate, import, backfill, append, incremental): wall time, jobs, rows written, and the CPU
// seconds of Redis, the whole PostgreSQL server, each worker process and this process. Jobs, their run
// times and the rows stage and signal jobs report come from the workers' own metrics
// (observability.metrics); backtest rows from the backtest tables' row counts (insert-only); import rows
// from the importer's result. A spot check re-runs 5 assets one by one (one flow per asset, one after
// another, same two days) in a second database and compares checksums of their feature rows and
// backtest results; any mismatch fails the bench.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { commandLine, usageError } from "../apps/command-line.ts";
import { importPrices } from "../db/import/import-prices.ts";
import type { Pool } from "../db/pool.ts";
import { activeSignalIds } from "../db/repos/signals.ts";
import { config } from "../ops/config.ts";
import { cliInterrupts } from "../ops/shutdown.ts";
import { requireKnownAssets } from "../producers/assets.ts";
import { waitForJob } from "../producers/progress.ts";
import { Fleet } from "../queues/fleet.ts";
import { dailyRefresh } from "../queues/flows/daily-refresh.ts";
import type { RunSummary } from "../queues/kinds/flow.ts";
import { backtestKind, flowKind, signalKind, stageKind } from "../queues/registry.ts";
import { benchEnv, type BenchEnv } from "./env.ts";
import { FLEET_LAST_DAY, generateAsset, spotCheckIndices, toCsv, type FleetSession } from "./fleet-assets.ts";
import { backtestRows, checksums, completedJobs, fixed, int, jobStats, jobTotals, table, type JobStats, type JobTotals } from "./fleet-report.ts";
import { statementRecorder, type StatementRow } from "./fleet-statements.ts";
import { cpuClock, cpuDelta, startFleetWorkers, type CpuReading } from "./fleet-workers.ts";
import { logProblems } from "./soak-report.ts";
import { exitedWorker, killWorkers, stopWorkers, waitReady, type SoakWorker } from "./soak-workers.ts";

const USAGE = `Usage: npm run bench:fleet

Generates BENCH_ASSETS deterministic synthetic assets (seeded geometric Brownian motion, half CRYPTO with a
bar every calendar day, half EQUITY on weekdays), imports them through the product's import, runs the full
daily refresh (every stage, signal, backtest and quality check) as the backfill on 2 worker processes,
appends one bar per asset and runs the incremental day. Prints per phase (generate, import, backfill,
append, incremental) wall time, jobs, rows written and the CPU seconds of Redis, PostgreSQL and each
worker, where the pipeline's time goes, a spot check (5 assets re-run one by one in a second database:
checksums of their feature rows and backtest results must match; exit 1 otherwise), and one JSON line.
Goals: backfill ≤ 15 min, incremental ≤ 60 s (500 assets, 10 years, 2 cores). Variables (defaults):
  BENCH_ASSETS (500)            synthetic assets; even indices CRYPTO, odd EQUITY
  BENCH_YEARS (10)              years of daily history per asset
  BENCH_SEED (1)                generator seed: the same seed gives the same bars
  BENCH_RUN_TIMEOUT_S (2700)    longest wait for one daily-refresh run
  BENCH_ARTIFACTS (test-artifacts/fleet)  worker logs and fleet.json
  BENCH_WORKER_NODE_ARGS ("")   extra node flags for the workers (e.g. --cpu-prof --cpu-prof-dir=DIR)
Servers: the embedded dev ones (DATA_DIR, EMBED_*_PORT, or REDIS_URL / DATABASE_URL), in databases and key
prefixes of the bench's own, dropped at the end.
`;
commandLine("bench:fleet", USAGE);

function envInt(key: string, def: number, min: number): number {
  const raw = process.env[key];
  if (raw === undefined || raw === "") return def;
  const n = Number(raw);
  return Number.isInteger(n) && n >= min ? n : usageError("bench:fleet", USAGE, `${key}: must be an integer ≥ ${min} (got ${JSON.stringify(raw)})`);
}

const ASSETS = envInt("BENCH_ASSETS", 500, 1);
const YEARS = envInt("BENCH_YEARS", 10, 1);
const SEED = envInt("BENCH_SEED", 1, 0);
const RUN_TIMEOUT_S = envInt("BENCH_RUN_TIMEOUT_S", 2_700, 1);
const ARTIFACTS = resolve(import.meta.dirname, "..", process.env.BENCH_ARTIFACTS ?? "test-artifacts/fleet");
const WORKERS = 2; // the Procfile's default formation
const IMPORT_CONCURRENCY = 4;
const GOAL_BACKFILL_S = 15 * 60;
const GOAL_INCREMENTAL_S = 60;
const PRINT_EVERY_MS = 30_000;
const STATEMENTS_SHOWN = 25;
// Everything around the two runs (servers, databases, generation, imports, the spot check, cleanup) fits in this.
const OVERHEAD_S = 1_800;
const PHASES = ["generate", "import", "backfill", "append", "incremental"] as const;
type Phase = (typeof PHASES)[number];

interface Spec {
  index: number;
  symbol: string;
  session: FleetSession;
  backfillFile: string;
  appendFile: string;
  bars: number;
}

interface PhaseResult {
  phase: Phase;
  seconds: number;
  jobs: number;
  rows: number;
  rowsNote: string;
  cpu: CpuReading;
  stats?: JobStats[];
}

const started = Date.now();
// Long enough for the cleanup: workers get 30 s to hand back their jobs, then the databases are dropped.
const interrupts = cliInterrupts({ graceMs: 150_000 });
const stop = new AbortController();
const deadline = setTimeout(() => stop.abort(new Error(`the overall deadline (${2 * RUN_TIMEOUT_S + OVERHEAD_S} s) passed`)), (2 * RUN_TIMEOUT_S + OVERHEAD_S) * 1000).unref();
const signal = AbortSignal.any([interrupts.signal, stop.signal]);
const pause = (ms: number) =>
  sleep(ms, undefined, { signal }).catch(() => {
    throw signal.reason;
  });

let env: BenchEnv | undefined;
let env1: BenchEnv | undefined;
let fleet: Fleet | undefined;
let fleet1: Fleet | undefined;
let workers: SoakWorker[] = [];
let workers1: SoakWorker[] = [];
let tmp: string | undefined;
let stopCpu: (() => void) | undefined;
process.on("exit", () => {
  killWorkers(workers);
  killWorkers(workers1);
});
let code = 0;
let result: Record<string, unknown> | undefined;
console.log(`bench:fleet: ${ASSETS} assets × ${YEARS} years (seed ${SEED}) on ${WORKERS} worker processes; spot check of ${spotCheckIndices(ASSETS).length} assets one by one; artifacts in ${ARTIFACTS}`);
try {
  mkdirSync(ARTIFACTS, { recursive: true });
  tmp = mkdtempSync(join(tmpdir(), "bench-fleet-"));
  env = await benchEnv("fleet");
  fleet = new Fleet({ redisUrl: env.redisUrl, prefix: env.prefix, name: "bench-fleet-producer" });
  workers = await startFleetWorkers(WORKERS, env, ARTIFACTS, "fleet");
  await waitReady(workers, 120_000);
  console.log(`${WORKERS} workers ready after ${((Date.now() - started) / 1000).toFixed(0)} s (pids ${workers.map((w) => w.pid).join(", ")})`);
  result = await bench(env, fleet, tmp);
  const spot = await spotCheck(env, tmp);
  const out = { ...result, spot_check: spot.every((s) => s.match) ? "match" : "mismatch", spot_check_assets: spot.length, seconds: Math.round((Date.now() - started) / 1000) };
  writeFileSync(resolve(ARTIFACTS, "fleet.json"), `${JSON.stringify({ result: out, spot }, null, 1)}\n`);
  console.log(JSON.stringify(out));
  if (out.spot_check !== "match") {
    code = 1;
    console.error("bench:fleet: the spot check found a mismatch between the fleet run and the one-by-one runs");
  }
} catch (err) {
  code = 1;
  console.error(`bench:fleet failed: ${(err as Error).stack ?? String(err)}`);
  // The phases were measured; only the spot check did not finish: still one JSON line, saying so.
  if (result) console.log(JSON.stringify({ ...result, spot_check: "incomplete", seconds: Math.round((Date.now() - started) / 1000) }));
} finally {
  clearTimeout(deadline);
  stopCpu?.();
  // After a failure or an interrupt as after success: nothing the bench started outlives it.
  await stopWorkers(workers, 30_000).catch((err: Error) => console.error(`bench:fleet cleanup: ${err.message}`));
  await stopWorkers(workers1, 30_000).catch((err: Error) => console.error(`bench:fleet cleanup: ${err.message}`));
  await fleet?.close();
  await fleet1?.close();
  // The second database first: the first env's close may stop servers this bench started.
  await env1?.close().catch((err: Error) => console.error(`bench:fleet cleanup: ${err.message}`));
  await env?.close().catch((err: Error) => console.error(`bench:fleet cleanup: ${err.message}`));
  if (tmp) rmSync(tmp, { recursive: true, force: true });
}
interrupts.exit(code);

/** Asset `index`'s files: its history up to the day before the last (the backfill) and the last bar alone. */
function writeAsset(dir: string, index: number): Spec {
  const a = generateAsset(SEED, index, { years: YEARS, lastDay: FLEET_LAST_DAY });
  const backfillFile = join(dir, `${a.symbol}.csv`);
  const appendFile = join(dir, `${a.symbol}.next.csv`);
  writeFileSync(backfillFile, toCsv(a.bars.slice(0, -1)));
  writeFileSync(appendFile, toCsv(a.bars.slice(-1)));
  return { index, symbol: a.symbol, session: a.session, backfillFile, appendFile, bars: a.bars.length };
}

/** Imports one file per asset, IMPORT_CONCURRENCY at a time; any failure stops the bench. */
async function importAll(pool: Pool, specs: Spec[], file: (s: Spec) => string): Promise<number> {
  const maxBytes = config().IMPORT_MAX_BYTES;
  let next = 0;
  let written = 0;
  let failed = false;
  const lane = async () => {
    // After one failure the other lanes finish the file they are on and take no more.
    while (next < specs.length && !failed) {
      signal.throwIfAborted();
      const s = specs[next++]!;
      const r = await importPrices(pool, file(s), s.symbol, s.session, { maxBytes, signal }).catch((err: unknown) => {
        failed = true;
        throw err;
      });
      written += r.written;
    }
  };
  await Promise.all(Array.from({ length: IMPORT_CONCURRENCY }, lane));
  return written;
}

/** Adds the daily refresh of `symbols` as of `asOf` (as `enqueue daily-refresh` does) and waits for it. */
async function runDay(f: Fleet, pool: Pool, ws: SoakWorker[], symbols: string[], asOf: string, progress?: () => Promise<string>): Promise<RunSummary> {
  await requireKnownAssets(pool, "--assets", symbols);
  const r = await dailyRefresh(f, symbols, asOf);
  if (!r.created) throw new Error(`run ${r.runId} already existed: the bench's database and prefix are its own`);
  let printed = Date.now();
  const { state, job } = await waitForJob(f.queue(flowKind), r.rootJobId, `run ${r.runId}`, {
    timeoutMs: RUN_TIMEOUT_S * 1000,
    signal,
    intervalMs: 500,
    onPending: async () => {
      const gone = exitedWorker(ws);
      if (gone) throw new Error(gone);
      if (progress && Date.now() - printed >= PRINT_EVERY_MS) {
        printed = Date.now();
        console.log(await progress());
      }
    },
  });
  if (state !== "completed") throw new Error(`run ${r.runId} failed: ${job.failedReason}`);
  const summary = job.returnvalue as RunSummary;
  if (summary.status !== "completed") {
    const bad = summary.assets.filter((a) => a.status !== "completed");
    throw new Error(`run ${r.runId} ended ${summary.status}: ${bad.length} assets not completed, e.g. ${JSON.stringify(bad.slice(0, 3))}`);
  }
  return summary;
}

async function bench(env: BenchEnv, fleet: Fleet, dir: string) {
  const cpu = await cpuClock(fleet.redis, env.pool, () => workers.map((w) => w.pid));
  stopCpu = cpu.stop;
  const clock = cpu.read;
  const signals = await activeSignalIds(env.pool);
  const statements = await statementRecorder(env.pool);
  // Per asset: 6 stages, 2 gates, the asset summary, a signal and a backtest per active strategy; one run root.
  const runJobs = ASSETS * (9 + 2 * signals.length) + 1;
  const results: PhaseResult[] = [];
  const cpuLine = (c: CpuReading) => `CPU s: redis ${fixed(c.redis)}, postgres ${fixed(c.pg)} (its backends of the bench database ${fixed(c.pgOwn)}), workers ${c.workers.map((w) => fixed(w)).join(" + ")}, bench ${fixed(c.bench)}`;
  const timed = async (phase: Phase, fn: () => Promise<{ jobs?: number; rows: number; rowsNote: string }>, quiet = false) => {
    const c0 = await clock();
    const t0 = performance.now();
    const r = await fn();
    const seconds = (performance.now() - t0) / 1000;
    const res: PhaseResult = { phase, seconds, jobs: r.jobs ?? 0, rows: r.rows, rowsNote: r.rowsNote, cpu: cpuDelta(c0, await clock()) };
    results.push(res);
    console.log(`${phase}: ${fixed(seconds)} s${quiet ? "" : `, ${int(res.rows)} rows (${res.rowsNote})`}; ${cpuLine(res.cpu)}`);
    return res;
  };

  // The workers flush their metrics every 10 s: wait until a run's jobs are all counted.
  const settledTotals = async (atLeast: number): Promise<JobTotals> => {
    const until = Date.now() + 60_000;
    for (;;) {
      const t = await jobTotals(env.pool);
      if (completedJobs(t) >= atLeast) return t;
      if (Date.now() > until) throw new Error(`the workers' metrics count ${completedJobs(t)} completed jobs, expected ≥ ${atLeast}, 60 s after the run`);
      await pause(1_000);
    }
  };

  const progress = (t0: number, base: number, c0: CpuReading) => async () => {
    const counts = await Promise.all([stageKind, signalKind, backtestKind, flowKind].map(async (k) => {
      const c = await fleet.queue(k).getJobCounts("waiting", "prioritized", "active", "waiting-children", "failed");
      return `${k.name} ${int((c.waiting ?? 0) + (c.prioritized ?? 0))}w/${c.active ?? 0}a${c["waiting-children"] ? `/${int(c["waiting-children"])}c` : ""}${c.failed ? `/${c.failed}F` : ""}`;
    }));
    const done = completedJobs(await jobTotals(env.pool)) - base;
    const cpu = cpuDelta(c0, await clock());
    return `  [${String(Math.round((Date.now() - t0) / 1000)).padStart(5)} s] ≈ ${int(done)}/${int(runJobs)} jobs done (metrics, ≤ 10 s behind); queues ${counts.join(", ")}; CPU s so far: redis ${fixed(cpu.redis, 0)}, postgres ${fixed(cpu.pg, 0)} (bench db ${fixed(cpu.pgOwn, 0)}), workers ${cpu.workers.map((w) => fixed(w, 0)).join(" + ")}`;
  };

  const specs: Spec[] = [];
  await timed("generate", async () => {
    for (let i = 0; i < ASSETS; i++) {
      signal.throwIfAborted();
      specs.push(writeAsset(dir, i));
    }
    return { rows: specs.reduce((n, s) => n + s.bars, 0), rowsNote: "bars generated, written as CSV files" };
  });
  const symbols = specs.map((s) => s.symbol);
  const backfillDay = generateAsset(SEED, 0, { years: YEARS, lastDay: FLEET_LAST_DAY }).bars.at(-2)!.date;

  await timed("import", async () => ({ rows: await importAll(env.pool, specs, (s) => s.backfillFile), rowsNote: "prices_daily rows written by the importer" }));

  const pipeline = async (phase: "backfill" | "incremental", asOf: string) => {
    const before = await jobTotals(env.pool);
    const bt0 = await backtestRows(env.pool);
    const from = new Date();
    const t0 = Date.now();
    console.log(`${phase}: daily refresh of ${ASSETS} assets as of ${asOf} (${int(runJobs)} jobs: ${signals.length} active strategies)`);
    await statements?.reset();
    const c0 = await clock();
    const res = await timed(
      phase,
      async () => {
        await runDay(fleet, env.pool, workers, symbols, asOf, progress(t0, completedJobs(before), c0)).catch(async (err: unknown) => {
          // A run that did not finish (timeout, interrupt, a failed asset): what it did so far, and a rough ETA.
          await partialReport(phase, env.pool, before, from, t0, async () => cpuDelta(c0, await clock()), signals.length).catch((e: Error) => console.error(`partial report: ${e.message}`));
          throw err;
        });
        return { rows: 0, rowsNote: "" };
      },
      true,
    );
    const after = await settledTotals(completedJobs(before) + runJobs);
    const bt1 = await backtestRows(env.pool);
    const stats = await jobStats(env.pool, before, after, from, new Date());
    const jobRows = stats.reduce((n, s) => n + s.rows, 0);
    const btRows = Object.keys(bt1).reduce((n, k) => n + bt1[k as keyof typeof bt1] - bt0[k as keyof typeof bt0], 0);
    res.jobs = stats.reduce((n, s) => n + s.completed, 0);
    res.rows = jobRows + btRows;
    res.rowsNote = `${int(jobRows)} from stage/signal job results + ${int(btRows)} backtest rows counted in the tables`;
    res.stats = stats;
    printStats(phase, res);
    if (statements) printStatements(phase, await statements.top(STATEMENTS_SHOWN));
  };

  await pipeline("backfill", backfillDay);
  await timed("append", async () => ({ rows: await importAll(env.pool, specs, (s) => s.appendFile), rowsNote: "prices_daily rows written by the importer" }));
  await pipeline("incremental", FLEET_LAST_DAY);

  // Stopped before the spot check so it does not compete with them, and so their logs are complete.
  const exitCodes = await stopWorkers(workers, 60_000);
  for (const [i, w] of workers.entries()) {
    const p = logProblems(w.logFile);
    console.log(`${w.name} (pid ${w.pid}): exit ${exitCodes[i]}; logged ${p.warnings} warnings, ${p.errors} errors${p.messages.length ? `: ${p.messages.join(" | ")}` : ""}`);
  }

  const byPhase = Object.fromEntries(results.map((r) => [r.phase, r])) as Record<Phase, PhaseResult>;
  console.log(`\nper phase (${ASSETS} assets × ${YEARS} years, seed ${SEED}; CPU in seconds — redis and postgres are whole servers, shared with anything else they serve meanwhile; "pg bench db" is only the backends of this bench's database):`);
  console.log(
    table(
      ["phase", "wall s", "jobs", "jobs/s", "rows", "rows/s", "redis", "postgres", "pg bench db", ...workers.map((w) => w.name), "bench", "goal"],
      PHASES.map((p) => {
        const r = byPhase[p];
        const goal = p === "backfill" ? `≤ ${GOAL_BACKFILL_S} s ${r.seconds <= GOAL_BACKFILL_S ? "met" : "MISSED"}` : p === "incremental" ? `≤ ${GOAL_INCREMENTAL_S} s ${r.seconds <= GOAL_INCREMENTAL_S ? "met" : "MISSED"}` : "";
        return [p, fixed(r.seconds), int(r.jobs), r.jobs ? fixed(r.jobs / r.seconds) : "–", int(r.rows), int(r.rows / r.seconds), fixed(r.cpu.redis), fixed(r.cpu.pg), fixed(r.cpu.pgOwn), ...r.cpu.workers.map((w) => fixed(w)), fixed(r.cpu.bench), goal];
      }),
    ),
  );
  for (const r of results) console.log(`  rows ${r.phase}: ${r.rowsNote}`);

  const out: Record<string, unknown> = {
    bench: "fleet",
    assets: ASSETS,
    years: YEARS,
    seed: SEED,
    backfill_s: Number(byPhase.backfill.seconds.toFixed(1)),
    incremental_s: Number(byPhase.incremental.seconds.toFixed(1)),
    jobs: byPhase.backfill.jobs + byPhase.incremental.jobs,
    goal_backfill_s: GOAL_BACKFILL_S,
    goal_incremental_s: GOAL_INCREMENTAL_S,
    goals_met: byPhase.backfill.seconds <= GOAL_BACKFILL_S && byPhase.incremental.seconds <= GOAL_INCREMENTAL_S,
  };
  for (const r of results) {
    out[`${r.phase}_s`] = Number(r.seconds.toFixed(1));
    out[`${r.phase}_jobs`] = r.jobs;
    out[`${r.phase}_rows`] = r.rows;
    out[`${r.phase}_cpu_redis_s`] = Number(r.cpu.redis.toFixed(2));
    out[`${r.phase}_cpu_pg_s`] = Number(r.cpu.pg.toFixed(2));
    out[`${r.phase}_cpu_pg_bench_db_s`] = Number(r.cpu.pgOwn.toFixed(2));
    r.cpu.workers.forEach((w, i) => (out[`${r.phase}_cpu_worker${i + 1}_s`] = Number(w.toFixed(2))));
    out[`${r.phase}_cpu_bench_s`] = Number(r.cpu.bench.toFixed(2));
  }
  writeFileSync(resolve(ARTIFACTS, "fleet-phases.json"), `${JSON.stringify(results, null, 1)}\n`);
  return out;
}

function printStats(phase: string, r: PhaseResult) {
  const stats = r.stats ?? [];
  const total = stats.reduce((n, s) => n + s.runMs, 0);
  console.log(`${phase}: ${int(r.jobs)} jobs in ${fixed(r.seconds)} s (${fixed(r.jobs / r.seconds)} jobs/s), ${int(r.rows)} rows (${r.rowsNote}); where the job time goes (job_run_ms; wait = queued → started):`);
  console.log(
    table(
      ["queue/job", "done", "failed", "retried", "run s", "share", "mean ms", "p50 ms", "p95 ms", "max ms", "wait mean s", "rows"],
      stats.map((s) => [
        `${s.queue}/${s.job}`,
        int(s.completed),
        int(s.failed),
        int(s.retried),
        fixed(s.runMs / 1000),
        `${fixed((100 * s.runMs) / Math.max(1, total))} %`,
        fixed(s.runMs / Math.max(1, s.runs)),
        s.p50 === undefined ? "–" : fixed(s.p50),
        s.p95 === undefined ? "–" : fixed(s.p95),
        s.max === undefined ? "–" : fixed(s.max),
        fixed(s.waitMs / Math.max(1, s.waits) / 1000, 2),
        int(s.rows),
      ]),
    ),
  );
  console.log(`  job run time summed over both workers: ${fixed(total / 1000)} s in ${fixed(r.seconds)} s of wall time (${fixed(total / 1000 / r.seconds, 2)} jobs in flight on average)`);
}

function printStatements(phase: string, top: StatementRow[]) {
  const total = top.reduce((n, s) => n + s.totalMs, 0);
  console.log(`${phase}: the ${top.length} statements PostgreSQL spent most time on (pg_stat_statements, plan + execution wall ms, this database):`);
  console.log(
    table(
      ["statement", "calls", "total ms", "ms/asset", "share of these", "rows"],
      top.map((s) => [s.query.replace(/\s+/g, " ").slice(0, 110), int(s.calls), fixed(s.totalMs), fixed(s.totalMs / ASSETS, 2), `${fixed((100 * s.totalMs) / Math.max(1, total))} %`, int(s.rows)]),
    ),
  );
  writeFileSync(resolve(ARTIFACTS, `fleet-${phase}-statements.json`), `${JSON.stringify(top, null, 1)}\n`);
}

/**
 * The same assets one by one: a second database and prefix, 2 fresh workers, the 5 picks imported, then
 * for each day one flow per asset, one after another; checksums compared with the fleet run's.
 */
async function spotCheck(main: BenchEnv, dir: string) {
  const picks = spotCheckIndices(ASSETS);
  const t0 = Date.now();
  console.log(`\nspot check: assets ${picks.join(", ")} one by one in a second database`);
  env1 = await benchEnv("fleet1");
  fleet1 = new Fleet({ redisUrl: env1.redisUrl, prefix: env1.prefix, name: "bench-fleet-spot" });
  workers1 = await startFleetWorkers(WORKERS, env1, ARTIFACTS, "spot");
  await waitReady(workers1, 120_000);
  const sub = join(dir, "spot");
  mkdirSync(sub, { recursive: true });
  const specs = picks.map((i) => writeAsset(sub, i));
  const backfillDay = generateAsset(SEED, 0, { years: YEARS, lastDay: FLEET_LAST_DAY }).bars.at(-2)!.date;
  await importAll(env1.pool, specs, (s) => s.backfillFile);
  for (const s of specs) await runDay(fleet1, env1.pool, workers1, [s.symbol], backfillDay);
  await importAll(env1.pool, specs, (s) => s.appendFile);
  for (const s of specs) await runDay(fleet1, env1.pool, workers1, [s.symbol], FLEET_LAST_DAY);
  await stopWorkers(workers1, 60_000);
  const out = [];
  for (const s of specs) {
    const [a, b] = [await checksums(main.pool, s.symbol), await checksums(env1.pool, s.symbol)];
    const match = a.features === b.features && a.backtests === b.backtests && a.featureRows === b.featureRows && a.backtestRows === b.backtestRows && a.featureRows > 0 && a.backtestRows > 0;
    out.push({ symbol: s.symbol, match, fleet: a, oneByOne: b });
    console.log(
      `  ${s.symbol}: ${match ? "match" : "MISMATCH"} — features ${a.featureRows} rows ${a.features.slice(0, 12)}${a.features === b.features ? " =" : ` ≠ ${b.featureRows} rows ${b.features.slice(0, 12)}`}; backtests ${a.backtestRows} rows ${a.backtests.slice(0, 12)}${a.backtests === b.backtests ? " =" : ` ≠ ${b.backtestRows} rows ${b.backtests.slice(0, 12)}`}`,
    );
  }
  console.log(`spot check: ${out.filter((o) => o.match).length}/${out.length} match (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
  return out;
}

/** Jobs each asset's run has, per queue/job, with `strategies` active strategies. */
function expectedPerAsset(strategies: number): Record<string, number> {
  return {
    "stage/ema": 1, "stage/returns": 1, "stage/volatility": 1, "stage/ta": 1, "stage/features": 1, "stage/quality": 1,
    "flow/gate-indicators": 1, "flow/gate-strategies": 1, "flow/asset": 1, "signal/signal": strategies, "backtest/signal": strategies,
  };
}

/**
 * An unfinished run: jobs done per queue/job against what the run has (from the workers' metrics, after one
 * more flush; the workers keep going), CPU so far, and an estimate of the whole run's wall time from the mean run time per job
 * kind and the job time done per wall second so far.
 */
async function partialReport(phase: string, pool: Pool, before: JobTotals, from: Date, t0: number, cpuSince: () => Promise<CpuReading>, strategies: number) {
  // The workers keep running meanwhile: time and CPU are read after this flush wait, like the counts.
  await sleep(11_000);
  const stats = await jobStats(pool, before, await jobTotals(pool), from, new Date());
  const seconds = (Date.now() - t0) / 1000 - 5; // the metrics are ≤ 10 s behind: count half of that
  const cpu = await cpuSince();
  const expected = expectedPerAsset(strategies);
  const done = new Map(stats.map((s) => [`${s.queue}/${s.job}`, s]));
  let remainingMs = 0;
  const rows = Object.entries(expected).map(([key, per]) => {
    const s = done.get(key);
    const want = per * ASSETS;
    const mean = s && s.runs ? s.runMs / s.runs : Number.NaN;
    if (s && s.completed < want) remainingMs += (want - s.completed) * (Number.isFinite(mean) ? mean : 0);
    return [key, `${int(s?.completed ?? 0)}/${int(want)}`, fixed(mean)];
  });
  const jobMs = stats.reduce((n, s) => n + s.runMs, 0);
  const eta = jobMs > 0 ? seconds + remainingMs / (jobMs / seconds) : Number.NaN;
  console.log(`${phase} INCOMPLETE after ${fixed(seconds)} s: ${int(stats.reduce((n, s) => n + s.completed, 0))} jobs completed, ${int(stats.reduce((n, s) => n + s.rows, 0))} rows from stage/signal job results; ${`CPU s: redis ${fixed(cpu.redis)}, postgres ${fixed(cpu.pg)} (bench db ${fixed(cpu.pgOwn)}), workers ${cpu.workers.map((w) => fixed(w)).join(" + ")}`}`);
  console.log(table(["queue/job", "done/total", "mean ms"], rows));
  console.log(`  estimated wall time of the whole ${phase}: ≈ ${fixed(eta, 0)} s (jobs not yet started counted at the mean run time of their kind so far; kinds with none done count 0)`);
  writeFileSync(resolve(ARTIFACTS, `fleet-${phase}-partial.json`), `${JSON.stringify({ phase, seconds, cpu, stats, eta_s: eta }, null, 1)}\n`);
  console.log(JSON.stringify({ bench: "fleet", assets: ASSETS, years: YEARS, complete: false, phase, [`${phase}_s_so_far`]: Number(seconds.toFixed(1)), [`${phase}_eta_s`]: Math.round(eta), jobs_done: stats.reduce((n, s) => n + s.completed, 0), cpu_redis_s: Number(cpu.redis.toFixed(1)), cpu_pg_s: Number(cpu.pg.toFixed(1)), cpu_pg_bench_db_s: Number(cpu.pgOwn.toFixed(1)), cpu_workers_s: cpu.workers.map((w) => Number(w.toFixed(1))) }));
}
