// `npm run bench:queue`: the same no-op workload through raw BullMQ, through the fleet runtime (validation,
// AbortSignal, hooks seam) and through the runtime with the production telemetry (spans exported to
// PostgreSQL, per-job metrics) at the default sampling and with every trace sampled, interleaved in one run
// so all four see the same machine noise, each round starting from a quiesced state (queue-quiesce.ts).
// A mode's clock runs from its connected worker's first fetch to its last job (with telemetry: to its spans
// and metrics written); many short rounds rather than a few long ones, since this machine's speed swings by
// ±40 % over seconds and a round's ratio holds only if its four modes met the same speed.
// PostgreSQL's CPU per span is read from /proc in the full rounds.
import { Queue, Worker, type Job } from "bullmq";
import { randomBytes } from "node:crypto";
import { config } from "../ops/config.ts";
import { createLogger } from "../ops/logger.ts";
import { resolveUrls } from "../apps/bootstrap.ts";
import { stopStack } from "../ops/embedded/stack.ts";
import { closeRedis, createRedis } from "../queues/connection.ts";
import { maintenanceKind } from "../queues/registry.ts";
import { createWorker } from "../workers/runtime.ts";
import { benchEnv } from "./env.ts";
import { benchHooks } from "./hooks.ts";
import { pgCpuSampler } from "./pg-cpu.ts";
import { collectGarbage, serverIdle, settleWrites } from "./queue-quiesce.ts";
import { scalingRun } from "./queue-scaling.ts";
import { commandLine } from "../apps/command-line.ts";

const N = Number(process.env.BENCH_JOBS ?? 10_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 16);
const SCALING_JOBS = Number(process.env.BENCH_SCALING_JOBS ?? 20_000);
const WHAT = `${N} no-op jobs × 4 modes (raw BullMQ, fleet runtime, runtime + telemetry at default sampling, and at 100 %) × ${ROUNDS} interleaved rounds after a warm-up, then add→start latency at 1k jobs/s, then ${SCALING_JOBS} smoke jobs through 1, 2 and 4 worker processes`;
// Measured on 2 shared cores: ≈ 15 s of fixed cost (servers, the bench database, 9 s of latency sampling)
// plus 0.25–0.45 ms per job, enqueueing included.
const minutes = (perJobMs: number) => ((15 + (N * 4 * (ROUNDS + 1) * perJobMs) / 1000) / 60).toFixed(1);
commandLine("bench:queue", `Usage: npm run bench:queue\n\n${WHAT}. BENCH_JOBS (10000), BENCH_ROUNDS (16) and BENCH_SCALING_JOBS (20000) change the size.\n`);
// Before the silent part (servers, database, warm-up): what runs and for how long.
console.log(`bench:queue: ${WHAT}; about ${minutes(0.25)}–${minutes(0.45)} min, quiet until round 1 is done`);
const cfg = config();
const log = createLogger({ service: "bench", level: "warn", pretty: false });
const { redisUrl, started } = await resolveUrls(cfg, log);
const CONCURRENCY = 50;
const hooks = await benchHooks();

type Mode = "raw" | "fleet" | "traced" | "full";
const MODES: Mode[] = ["raw", "fleet", "traced", "full"];
const payload = { task: "smoke", id: "bench", message: "no-op" };

// Connected and ready but not yet fetching: the throughput clock starts at start(), after connection setup.
async function startConsumer(mode: Mode, prefix: string, onJob: (job: Job) => void): Promise<{ start: () => void; stop: () => Promise<void> }> {
  if (mode === "raw") {
    const w = new Worker(maintenanceKind.name, async (job) => (onJob(job), { task: "smoke" }), { connection: createRedis(redisUrl), prefix, concurrency: CONCURRENCY, autorun: false });
    await w.waitUntilReady();
    return {
      start: () => void w.run(),
      stop: async () => {
        await w.close();
        await closeRedis(w.opts.connection as never);
      },
    };
  }
  const modeHooks = { fleet: undefined, traced: hooks.hooks, full: hooks.full }[mode];
  const w = createWorker(maintenanceKind, async (p, ctx) => (onJob(ctx.job), { task: p.task }), { redisUrl, prefix, log, concurrency: CONCURRENCY, ...(modeHooks ? { hooks: modeHooks } : {}) });
  await w.waitUntilReady();
  return { start: () => void w.start(), stop: () => w.close() };
}

async function withQueue<T>(fn: (q: Queue, prefix: string) => Promise<T>): Promise<T> {
  const prefix = `{bench-${randomBytes(4).toString("hex")}}`;
  const conn = createRedis(redisUrl);
  const q = new Queue(maintenanceKind.name, { connection: conn, prefix });
  try {
    return await fn(q, prefix);
  } finally {
    await q.obliterate({ force: true }).catch(() => {});
    await q.close();
    await closeRedis(conn);
  }
}

const cpuPerJob: Record<Mode, number[]> = { raw: [], fleet: [], traced: [], full: [] };
const pgCpuPerSpan: number[] = [];
const telemetryOn = (mode: Mode) => mode === "traced" || mode === "full";

// Before every clock starts: PostgreSQL idle and the previous round's garbage collected (queue-quiesce.ts).
async function quiesce(): Promise<void> {
  const busy = await serverIdle(hooks.pool);
  if (busy) console.warn(`bench:queue: PostgreSQL still busy after 30 s, starting the round anyway: ${busy}`);
  collectGarbage();
}

async function throughput(mode: Mode): Promise<number> {
  return withQueue(async (q, prefix) => {
    for (let i = 0; i < N; i += 1000) {
      await q.addBulk(Array.from({ length: Math.min(1000, N - i) }, () => ({ name: "smoke", data: payload, opts: { removeOnComplete: true } })));
    }
    let done = 0;
    let resolveDone!: () => void;
    const all = new Promise<void>((r) => (resolveDone = r));
    await quiesce();
    const spans0 = hooks.spansWritten();
    const pgCpu = mode === "full" ? await pgCpuSampler(hooks.pool) : undefined;
    const consumer = await startConsumer(mode, prefix, () => {
      if (++done === N) resolveDone();
    });
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    consumer.start();
    await all;
    // The spans of this round are exported on its clock, not on the next round's.
    if (telemetryOn(mode)) await hooks.flush();
    const s = (performance.now() - t0) / 1000;
    const c = process.cpuUsage(c0);
    cpuPerJob[mode].push((c.user + c.system) / N);
    await consumer.stop();
    // The vacuum its rows cause: off every clock, but part of PostgreSQL's cost per span.
    if (telemetryOn(mode)) await settleWrites(hooks.pool);
    if (pgCpu) pgCpuPerSpan.push(((await pgCpu()) * 1e6) / Math.max(1, hooks.spansWritten() - spans0));
    return N / s;
  });
}

async function latency(mode: Mode, rate = 1000, seconds = 3): Promise<{ p50: number; p99: number }> {
  return withQueue(async (q, prefix) => {
    const lat: number[] = [];
    const total = rate * seconds;
    let resolveDone!: () => void;
    const all = new Promise<void>((r) => (resolveDone = r));
    await quiesce();
    const consumer = await startConsumer(mode, prefix, (job) => {
      lat.push(Date.now() - job.timestamp);
      if (lat.length === total) resolveDone();
    });
    consumer.start();
    const tick = 10;
    const perTick = (rate * tick) / 1000;
    let sent = 0;
    const t0 = performance.now();
    while (sent < total) {
      await q.addBulk(Array.from({ length: perTick }, () => ({ name: "smoke", data: payload, opts: { removeOnComplete: true } })));
      sent += perTick;
      const wait = t0 + (sent / rate) * 1000 - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
    await all;
    await consumer.stop();
    lat.sort((a, b) => a - b);
    return { p50: lat[Math.floor(lat.length * 0.5)]!, p99: lat[Math.floor(lat.length * 0.99)]! };
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const rates: Record<Mode, number[]> = { raw: [], fleet: [], traced: [], full: [] };
const ratios: Record<Exclude<Mode, "raw">, number[]> = { fleet: [], traced: [], full: [] };
// A Williams square: over 4 rounds each mode runs once in each position and once right after each other
// mode, so neither drift in machine load nor anything a round leaves behind favours one side.
const WILLIAMS = [0, 1, 3, 2];
for (const m of MODES) await throughput(m); // warm-up: JIT, Redis script cache, PostgreSQL connections
for (let r = 0; r < ROUNDS; r++) {
  const order = WILLIAMS.map((i) => MODES[(i + r) % MODES.length]!);
  const got = {} as Record<Mode, number>;
  for (const m of order) got[m] = await throughput(m);
  for (const m of MODES) rates[m].push(got[m]);
  for (const m of ["fleet", "traced", "full"] as const) ratios[m].push(got[m] / got.raw);
  console.log(
    `round ${r + 1}: raw ${got.raw.toFixed(0)}, fleet ${got.fleet.toFixed(0)}, +telemetry ${got.traced.toFixed(0)}, +telemetry 100 % ${got.full.toFixed(0)} jobs/s; ratios ${ratios.fleet.at(-1)!.toFixed(3)} / ${ratios.traced.at(-1)!.toFixed(3)} / ${ratios.full.at(-1)!.toFixed(3)}; PostgreSQL ${pgCpuPerSpan.at(-1)!.toFixed(1)} µs CPU per span`,
  );
}
const lat = {} as Record<Mode, { p50: number; p99: number }>;
for (const m of MODES) lat[m] = await latency(m);
const scalingEnv = await benchEnv("scaling");
const scaling = await scalingRun(scalingEnv, SCALING_JOBS, "test-artifacts/bench-queue").finally(() => scalingEnv.close());
await hooks.close();
if (started.length) await stopStack(cfg.DATA_DIR, started);
const us = (m: Mode) => Number(median(cpuPerJob[m]).toFixed(1));
const result = {
  bench: "queue",
  raw_jobs_per_s: Math.round(median(rates.raw)),
  fleet_jobs_per_s: Math.round(median(rates.fleet)),
  // Median of per-round ratios: each round ran its modes back to back under the same load.
  ratio: Number(median(ratios.fleet).toFixed(3)),
  traced_default_jobs_per_s: Math.round(median(rates.traced)),
  ratio_traced_default: Number(median(ratios.traced).toFixed(3)),
  traced_full_jobs_per_s: Math.round(median(rates.full)),
  ratio_traced_full: Number(median(ratios.full).toFixed(3)),
  // The whole server's CPU (backends, WAL writer, autovacuum) over spans written, in the 100 % rounds.
  pg_cpu_us_per_span: Number(median(pgCpuPerSpan).toFixed(1)),
  // This process's CPU per job: steadier than wall-clock rates on a shared machine.
  raw_cpu_us_per_job: us("raw"),
  fleet_cpu_us_per_job: us("fleet"),
  traced_default_cpu_us_per_job: us("traced"),
  traced_full_cpu_us_per_job: us("full"),
  raw_p50_ms: lat.raw.p50,
  raw_p99_ms: lat.raw.p99,
  fleet_p50_ms: lat.fleet.p50,
  fleet_p99_ms: lat.fleet.p99,
  traced_default_p50_ms: lat.traced.p50,
  traced_default_p99_ms: lat.traced.p99,
  traced_full_p50_ms: lat.full.p50,
  traced_full_p99_ms: lat.full.p99,
  telemetry: hooks.description,
  // Real worker processes on one queue: what adding processes buys on this machine, and each job's CPU cost.
  scaling,
};
console.log(
  `throughput: raw ${result.raw_jobs_per_s} jobs/s; fleet runtime ${result.fleet_jobs_per_s} jobs/s, ratio ${result.ratio}; with telemetry at the default sampling ${result.traced_default_jobs_per_s} jobs/s, ratio ${result.ratio_traced_default} (goal ≥ 0.85); every trace sampled ${result.traced_full_jobs_per_s} jobs/s, ratio ${result.ratio_traced_full}, ${result.pg_cpu_us_per_span} µs of PostgreSQL CPU per span`,
);
console.log(`add→start at 1k jobs/s (p50/p99 ms): raw ${lat.raw.p50}/${lat.raw.p99}, fleet ${lat.fleet.p50}/${lat.fleet.p99}, telemetry default ${lat.traced.p50}/${lat.traced.p99}, telemetry 100 % ${lat.full.p50}/${lat.full.p99}`);
for (const st of scaling) {
  console.log(`scaling: ${st.workers} worker process${st.workers > 1 ? "es" : ""} ${st.jobs_per_s} smoke jobs/s; CPU per job: Redis ${st.redis_cpu_us_per_job} µs, PostgreSQL ${st.pg_cpu_us_per_job} µs, workers ${st.worker_cpu_us_per_job} µs`);
}
console.log(JSON.stringify(result));
process.exit(0);
