// `npm run bench:capacity`: what one job of each kind costs — CPU of the worker process, of PostgreSQL and of
// Redis, rows written — measured one kind at a time on ONE real worker process (apps/worker/main.ts,
// concurrency 1 per queue, one compute thread), so each batch's CPU belongs to that kind alone. The
// figures feed the README's capacity model (README "Capacity model").
//
// Data: the four sample assets (data/) in BENCH_CAPACITY_COPIES copies (copy 1 is the sample itself; copy c
// is the same bars imported as `<symbol>.<c>`), so a batch of one kind is copies × 4 jobs over real bars.
// Backfill batches are each asset's first run (nothing stored yet: every row is new); incremental batches
// run the next day, after one new bar per asset was imported (bench/capacity-data.ts): the stages recompute
// from their watermark minus their lookback, as on an ordinary day. Then whole daily-refresh runs (every
// kind plus the flow's own gate and summary jobs, per asset: a backfill on a fresh copy, an incremental day
// on the batches' assets), a parameter sweep's chunks alone and the whole sweep flow (chunks + ranking), LLM
// tasks against a local fake OpenAI endpoint, and no-op smoke jobs. A warm-up run (one asset of its own, a
// chunk, a task, a smoke job) starts the worker's compute thread and JIT before any clock.
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { commandLine, usageError } from "../apps/command-line.ts";
import { emaGridPairs } from "../compute/backtest/sweep-grid.ts";
import { activeSignalIds } from "../db/repos/signals.ts";
import { SAMPLE_DATA } from "../db/sample-data.ts";
import { startRedis, stopRedis } from "../ops/embedded/redis.ts";
import { flowNode } from "../queues/enqueue.ts";
import { Fleet } from "../queues/fleet.ts";
import { dailyRefresh } from "../queues/flows/daily-refresh.ts";
import { enqueueSweep, type SweepSpec } from "../queues/flows/sweep.ts";
import type { z } from "zod";
import type { JobKind } from "../queues/kind.ts";
import { newTaskId } from "../queues/kinds/llm.ts";
import { STAGES } from "../queues/kinds/stage.ts";
import { backtestKind, llmKind, maintenanceKind, signalKind, stageKind } from "../queues/registry.ts";
import { startOpenAiFake } from "../test/fakes/openai.ts";
import { freePort } from "../test/helpers/net.ts";
import { appendBar, copyOf, importCopies } from "./capacity-data.ts";
import { idleRates, measure, type Batch, type Measured, type Meter } from "./capacity-measure.ts";
import { benchEnv } from "./env.ts";
import { fixed, int, table } from "./fleet-report.ts";
import { cpuClock } from "./fleet-workers.ts";
import { exitedWorker, killWorkers, startWorkers, stopWorkers, waitReady, type SoakWorker } from "./soak-workers.ts";

const USAGE = `Usage: npm run bench:capacity

Per job kind, a batch of that kind alone on one worker process (apps/worker/main.ts, concurrency 1, one
compute thread) over the sample assets: every stage (ema, returns, volatility, ta, features, quality),
signal and backtest, as backfill (first run) and as an incremental re-run; whole daily-refresh runs (per
asset); sweep chunks alone and a whole sweep (chunks + ranking); LLM tasks against a local fake OpenAI
endpoint; no-op smoke jobs. Per unit: CPU of the worker process (with its threads), of the PostgreSQL
backends of the bench database (and of the whole server), of Redis (INFO cpu), rows and spans written, net of
the idle rates; what one core of each sustains; one JSON line. Variables (defaults):
  BENCH_CAPACITY_COPIES (2)          copies of the 4 sample assets: jobs per stage batch = 4 × copies
  BENCH_CAPACITY_SWEEP_CHUNKS (4)    sweep chunks of ${500} combinations (BTC-USD)
  BENCH_CAPACITY_LLM (20)            LLM tasks
  BENCH_CAPACITY_SMOKE (500)         smoke jobs
  BENCH_CAPACITY_IDLE_S (20)         seconds of idle measured (covers two 10 s metrics flushes)
  BENCH_CAPACITY_TIMEOUT_S (600)     longest wait for one batch
  BENCH_ARTIFACTS (test-artifacts/capacity)  the worker's log
Servers: the embedded dev ones (DATA_DIR, EMBED_*_PORT, or REDIS_URL / DATABASE_URL), in a database and key
prefix of the bench's own, dropped at the end. Redis and the whole-server PostgreSQL figures count anything
else those servers serve meanwhile; the bench-database figure counts only this bench's backends.
`;
commandLine("bench:capacity", USAGE);

function envInt(key: string, def: number, min: number, max: number): number {
  const raw = process.env[key];
  if (raw === undefined || raw === "") return def;
  const n = Number(raw);
  return Number.isInteger(n) && n >= min && n <= max ? n : usageError("bench:capacity", USAGE, `${key}: must be an integer ${min}..${max} (got ${JSON.stringify(raw)})`);
}

const COPIES = envInt("BENCH_CAPACITY_COPIES", 2, 1, 50);
const SWEEP_CHUNKS = envInt("BENCH_CAPACITY_SWEEP_CHUNKS", 4, 1, 100);
const LLM_TASKS = envInt("BENCH_CAPACITY_LLM", 20, 0, 10_000);
const SMOKE_JOBS = envInt("BENCH_CAPACITY_SMOKE", 500, 1, 100_000);
const IDLE_S = envInt("BENCH_CAPACITY_IDLE_S", 20, 1, 600);
const TIMEOUT_MS = envInt("BENCH_CAPACITY_TIMEOUT_S", 600, 1, 86_400) * 1000;
const ARTIFACTS = resolve(import.meta.dirname, "..", process.env.BENCH_ARTIFACTS ?? "test-artifacts/capacity");
const CHUNK = 500;
const FEE_BPS = 10;
const BACKTEST_TABLES = ["backtest_runs", "backtest_trades", "backtest_metrics", "backtest_equity"];

const KEY = `sk-bench-${randomBytes(8).toString("hex")}`;

// What a producer passes (defaults not yet applied); flowNode validates it.
type PayloadIn<K extends JobKind> = z.input<K["schema"]>;
const started = Date.now();
const load = () => readFileSync("/proc/loadavg", "utf8").trim();
console.log(`bench:capacity: ${COPIES} copies of the ${SAMPLE_DATA.length} sample assets on 1 worker process (concurrency 1, 1 compute thread); loadavg ${load()}`);

const env = await benchEnv("capacity");
// A Redis of the bench's own (AOF on, like the embedded one): its INFO cpu counts this bench's jobs only.
const redisDir = mkdtempSync(join(tmpdir(), "bench-capacity-redis-"));
let fleet: Fleet | undefined;
let fake: Awaited<ReturnType<typeof startOpenAiFake>> | undefined;
let workers: SoakWorker[] = [];
process.on("exit", () => killWorkers(workers));
let code = 0;
try {
  const redis = await startRedis(redisDir, await freePort(), () => {});
  const servers = { redisUrl: redis.url, databaseUrl: env.databaseUrl, prefix: env.prefix };
  const f = (fleet = new Fleet({ redisUrl: servers.redisUrl, prefix: servers.prefix, name: "bench-capacity" }));
  fake = await startOpenAiFake({ key: KEY });
  mkdirSync(ARTIFACTS, { recursive: true });
  // Copies 2.. for the batches, "w" for the warm-up, "f" for the whole daily-refresh backfill.
  await importCopies(env.pool, [...Array.from({ length: COPIES }, (_, i) => i + 1), "w", "f"]);
  const assets = Array.from({ length: COPIES }, (_, i) => SAMPLE_DATA.map((s) => copyOf(s.symbol, i + 1))).flat();
  const flowAssets = SAMPLE_DATA.map((s) => copyOf(s.symbol, "f"));
  const { rows: span } = await env.pool.query<{ as_of: string; bars: number }>(
    `SELECT to_char(max(ts), 'YYYY-MM-DD') AS as_of, (count(*)::float8 / count(DISTINCT asset_id)) AS bars FROM prices_daily p JOIN assets a USING (asset_id) WHERE a.symbol = ANY($1)`,
    [assets],
  );
  const barsPerAsset = span[0]!.bars;
  const signals = await activeSignalIds(env.pool);

  workers = await startWorkers(1, servers, ARTIFACTS, {
    label: "capacity",
    env: { WORKER_CONCURRENCY: "1", COMPUTE_THREADS: "1", OPENAI_API_KEY: KEY, OPENAI_BASE_URL: `${fake.url}/v1`, OPENAI_BUDGET: "rpd=1000000,rpm=1000000,tpm=1000000000,concurrent=8", RESEARCH_BRIEF: "off" },
  });
  await waitReady(workers, 120_000);
  const clock = await cpuClock(f.redis, env.pool, () => workers.map((w) => w.pid), 1_000);
  const meter: Meter = { pool: env.pool, clock: clock.read, dead: () => exitedWorker(workers), timeoutMs: TIMEOUT_MS };

  const add = async <K extends JobKind>(kind: K, payloads: Array<PayloadIn<K>>) => {
    // PayloadIn<K> of a generic K is opaque to the compiler; flowNode validates each payload against the kind.
    await f.queue(kind).addBulk(payloads.map((p) => flowNode(f, kind, p as Record<string, unknown>)).map(({ name, data, opts }) => ({ name, data, opts })));
  };
  const jobs = <K extends JobKind>(label: string, kind: K, job: string, payloads: Array<PayloadIn<K>>, rowTables?: string[]): Batch => ({
    label,
    unit: "job",
    units: payloads.length,
    expect: { [`${kind.name}/${job}`]: payloads.length },
    enqueue: () => add(kind, payloads),
    ...(rowTables ? { rowTables } : {}),
  });
  // One kind at a time, in dependency order: every stage reads what the previous ones stored.
  const pipeline = (mode: string, asOf: string): Batch[] => {
    const pairs = signals.flatMap((signalId) => assets.map((asset) => ({ signalId, asset, asOf })));
    return [
      ...STAGES.map((stage) => jobs(`stage/${stage} ${mode}`, stageKind, stage, assets.map((asset) => ({ stage, asset, asOf })))),
      jobs(`signal ${mode}`, signalKind, "signal", pairs),
      jobs(`backtest/signal ${mode}`, backtestKind, "signal", pairs.map((p) => ({ mode: "signal" as const, ...p })), BACKTEST_TABLES),
    ];
  };
  const refreshRun = (label: string, on: string[], asOf: string): Batch => ({
    label,
    unit: "asset",
    units: on.length,
    // The run root completes last, after every asset's summary.
    expect: { "flow/run": 1 },
    enqueue: async () => {
      await dailyRefresh(f, on, asOf);
    },
    // Stages and signals report their rows; backtests are counted in their tables.
    rowTables: BACKTEST_TABLES,
  });
  // 50 fast values, each below every slow one: 10 slow values make a chunk of 500.
  const sweep: SweepSpec = { asset: "BTC-USD", strategy: "ema_cross", fast: [5, 54, 1], slow: [60, 60 + SWEEP_CHUNKS * 10 - 1, 1], feeBps: FEE_BPS, topN: 5, chunkSize: CHUNK, s: 16 };
  const pairs = emaGridPairs(sweep.fast, sweep.slow) as Array<[number, number]>;
  const chunk = (sweepId: string, i: number, combos = pairs.slice(i * CHUNK, (i + 1) * CHUNK)) => ({ mode: "sweep-chunk" as const, sweepId, chunk: i, asset: sweep.asset, strategy: sweep.strategy, combos, feeBps: FEE_BPS, s: 16 });
  const llmTasks = (n: number, prompt: string) => Array.from({ length: n }, () => ({ node: "task" as const, taskId: newTaskId(), prompt }));
  const smoke = (ids: string[]) => ids.map((id) => ({ task: "smoke" as const, id, message: "capacity" }));

  const asOf0 = span[0]!.as_of;
  const tw = Date.now();
  const zero = { redis: 0, pg: 0, pgOwn: 0, workers: [0], bench: 0 };
  for (const b of [
    refreshRun("warm-up daily refresh", [copyOf("ETH-USD", "w")], asOf0),
    jobs("warm-up sweep chunk", backtestKind, "sweep-chunk", [chunk("capacity-warm-up", 0, pairs.slice(0, 10))]),
    ...(LLM_TASKS ? [jobs("warm-up llm", llmKind, "llm-task", llmTasks(1, "capacity bench warm-up"))] : []),
    jobs("warm-up smoke", maintenanceKind, "smoke", smoke(["capacity-warm-up"])),
  ]) {
    const m = await measure(meter, zero, b);
    console.log(`  ${m.label}: ${fixed(m.seconds)} s`);
  }
  console.log(`warm-up: ${((Date.now() - tw) / 1000).toFixed(0)} s; idle rates over ${IDLE_S} s…`);
  const idle = await idleRates(meter, IDLE_S);
  console.log(`idle CPU ms/s (subtracted from every batch over its duration): worker ${fixed(idle.workers[0]! * 1000, 2)}, pg bench db ${fixed(idle.pgOwn * 1000, 2)}, redis ${fixed(idle.redis * 1000, 2)}`);

  const results: Measured[] = [];
  const run = async (batches: Batch[]) => {
    for (const b of batches) {
      const m = await measure(meter, idle, b);
      results.push(m);
      const per = (s: number) => fixed((s * 1000) / m.units, 2);
      console.log(`  ${m.label}: ${m.units} ${m.unit}s in ${fixed(m.seconds)} s; per ${m.unit} CPU ms: worker ${per(m.cpu.workers[0]!)}, pg bench db ${per(m.cpu.pgOwn)}, redis ${per(m.cpu.redis)}; loadavg ${load()}`);
    }
  };
  await run(pipeline("backfill", asOf0));
  // The next day: one new bar per asset, then each kind again (its incremental path).
  const asOf1 = await appendBar(env.pool, [...assets, ...flowAssets]);
  await run(pipeline("incremental", asOf1));
  await run([refreshRun("daily refresh, backfill", flowAssets, asOf1)]);
  const asOf2 = await appendBar(env.pool, assets);
  await run([
    refreshRun("daily refresh, incremental", assets, asOf2),
    jobs(`backtest/sweep-chunk (${CHUNK} combinations)`, backtestKind, "sweep-chunk", Array.from({ length: SWEEP_CHUNKS }, (_, i) => chunk("capacity-chunks", i)), ["sweep_results"]),
    {
      label: `sweep flow (${SWEEP_CHUNKS} chunks + ranking)`,
      unit: "sweep",
      units: 1,
      expect: { "backtest/sweep-chunk": SWEEP_CHUNKS, "backtest/sweep-rank": 1 },
      enqueue: async () => {
        await enqueueSweep(f, sweep);
      },
      rowTables: ["sweep_results", "sweeps", "sweep_research"],
    },
    ...(LLM_TASKS ? [jobs("llm/task (fake OpenAI)", llmKind, "llm-task", llmTasks(LLM_TASKS, "capacity bench: one short prompt"), ["llm_calls", "llm_tasks"])] : []),
    jobs("maintenance/smoke (no-op)", maintenanceKind, "smoke", smoke(Array.from({ length: SMOKE_JOBS }, (_, i) => `capacity-${i}`)), ["fleet_smoke"]),
  ]);
  clock.stop();
  const exit = await stopWorkers(workers, 30_000);

  const us = (s: number, units: number) => (s * 1e6) / units;
  const perSec = (s: number, units: number) => (s > 0 ? units / s : Number.POSITIVE_INFINITY);
  console.log(
    `\nper unit (CPU net of idle; "pg ms" = the bench database's PostgreSQL backends; a core sustains 1 / CPU per unit; ${barsPerAsset.toFixed(0)} bars per asset on average, ${signals.length} active strategies; backfill as of ${asOf0}, incremental ${asOf1} and ${asOf2}):`,
  );
  console.log(
    table(
      ["batch", "units", "wall s", "run ms", "worker ms", "pg ms", "redis µs", "rows", "spans", "worker core /s", "pg core /s", "redis core /s"],
      results.map((m) => [
        m.label,
        `${m.units} ${m.unit}${m.units === 1 ? "" : "s"}`,
        fixed(m.seconds),
        fixed(m.runMs / m.units, 1),
        fixed((m.cpu.workers[0]! * 1000) / m.units, 2),
        fixed((m.cpu.pgOwn * 1000) / m.units, 2),
        fixed(us(m.cpu.redis, m.units), 0),
        int(m.rows / m.units),
        fixed(m.spans / m.units, 1),
        fixed(perSec(m.cpu.workers[0]!, m.units), 1),
        fixed(perSec(m.cpu.pgOwn, m.units), 1),
        int(perSec(m.cpu.redis, m.units)),
      ]),
    ),
  );
  console.log(`worker exit ${exit[0]}; ${((Date.now() - started) / 1000).toFixed(0)} s in all; loadavg ${load()}`);
  const slug = (label: string) => label.replace(/\(.*?\)/g, "").trim().replace(/[^a-z0-9]+/gi, "_").toLowerCase();
  const out: Record<string, unknown> = { bench: "capacity", copies: COPIES, bars_per_asset: Math.round(barsPerAsset), strategies: signals.length, idle_worker_ms_per_s: Number((idle.workers[0]! * 1000).toFixed(2)) };
  for (const m of results) {
    const k = slug(m.label);
    out[`${k}_worker_us`] = Math.round(us(m.cpu.workers[0]!, m.units));
    out[`${k}_pg_us`] = Math.round(us(m.cpu.pgOwn, m.units));
    out[`${k}_redis_us`] = Math.round(us(m.cpu.redis, m.units));
    out[`${k}_rows`] = Math.round(m.rows / m.units);
  }
  out.loadavg = load();
  console.log(JSON.stringify(out));
} catch (err) {
  code = 1;
  console.error(`bench:capacity: ${(err as Error).message}${workers[0] ? ` (worker log: ${workers[0].logFile})` : ""}`);
} finally {
  await stopWorkers(workers, 30_000);
  await fleet?.close();
  await fake?.close();
  await stopRedis(redisDir).catch((err: Error) => console.error(`bench:capacity: stopping its redis-server: ${err.message}`));
  rmSync(redisDir, { recursive: true, force: true });
  await env.close();
}
process.exit(code);
