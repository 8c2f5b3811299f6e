// `npm run bench:llm`: four llm worker processes share one provider (a local fake with a fixed allowed
// rate per window, counting what arrives over it). Utilisation = calls the provider accepted in the full
// windows of the run ÷ what it allows; overruns = calls that arrived over its limit. Goal ≥ 95 %, 0.
import { commandLine } from "../apps/command-line.ts";
import { randomBytes } from "node:crypto";
import { createPool } from "../db/pool.ts";
import { migrate } from "../db/migrate.ts";
import { resolveUrls } from "../apps/bootstrap.ts";
import { config } from "../ops/config.ts";
import { stopStack } from "../ops/embedded/stack.ts";
import { createLogger } from "../ops/logger.ts";
import { redisUrlOf } from "../queues/connection.ts";
import { flowNode } from "../queues/enqueue.ts";
import { Fleet } from "../queues/fleet.ts";
import { newTaskId } from "../queues/kinds/llm.ts";
import { llmKind } from "../queues/registry.ts";
import { startOpenAiFake } from "../test/fakes/openai.ts";
import { reap, spawnTs, type EventProcess } from "../test/helpers/proc.ts";
import { poll } from "../test/helpers/wait.ts";

commandLine("bench:llm", `Usage: npm run bench:llm\n\nLLM worker processes against a fake provider with a fixed rate: budget utilisation and overruns.\n`);

const PROCESSES = 4;
const WINDOW_MS = Number(process.env.BENCH_WINDOW_MS ?? 1_000);
const PER_WINDOW = Number(process.env.BENCH_PER_WINDOW ?? 25);
const WINDOWS = Number(process.env.BENCH_WINDOWS ?? 10);
const KEY = `sk-bench-${randomBytes(8).toString("hex")}`;

const cfg = config();
const log = createLogger({ service: "bench", level: "warn", pretty: false });
const stack = await resolveUrls(cfg, log);
// A database of its own: the bench's calls never reach the real cost ledger.
const dbName = `bench_llm_${randomBytes(4).toString("hex")}`;
const admin = createPool(stack.databaseUrl, { max: 1 });
await admin.query(`CREATE DATABASE ${dbName}`);
const dbUrl = Object.assign(new URL(stack.databaseUrl), { pathname: `/${dbName}` }).toString();
const pool = createPool(dbUrl, { max: 2 });
await migrate(pool);
const prefix = `{bench-llm-${randomBytes(4).toString("hex")}}`;
const fleet = new Fleet({ redisUrl: stack.redisUrl, prefix, name: "bench-llm" });
const fake = await startOpenAiFake({ key: KEY, latencyMs: 20 });
const procs: EventProcess[] = [];
try {
  const budget = { window: { ms: WINDOW_MS, requests: PER_WINDOW }, maxConcurrent: 8 };
  for (let i = 0; i < PROCESSES; i++) {
    procs.push(
      spawnTs("test/fixtures/llm-worker.ts", { REDIS_URL: redisUrlOf(stack.redisUrl, "bench:llm"), DATABASE_URL: dbUrl, PREFIX: prefix, PROVIDER: "openai", BASE_URL: fake.url, API_KEY: KEY, CONCURRENCY: "8", BUDGET: JSON.stringify(budget) }),
    );
  }
  await Promise.all(procs.map((p) => p.waitFor("ready", {}, 60_000)));
  // One round trip to add, one to count: the bench process also hosts the provider, whose arrival clock
  // must not lag behind a busy event loop.
  const queue = fleet.queue(llmKind);
  const run = async (n: number) => {
    const before = (await queue.getJobCounts("completed")).completed ?? 0;
    const payloads = Array.from({ length: n }, () => ({ node: "task" as const, taskId: newTaskId(), prompt: "bench" }));
    await queue.addBulk(payloads.map((p) => flowNode(fleet, llmKind, p)).map(({ name, data, opts }) => ({ name, data, opts })));
    await poll(async () => ((await queue.getJobCounts("completed")).completed ?? 0) >= before + n, "every bench task to complete", 120_000, 200);
  };
  // Warm every process first (a cold process is slow between its quota check and the wire); the provider
  // counts from then on.
  await poll(async () => (await run(PROCESSES), procs.every((p) => p.events.some((e) => e.event === "sent"))), "every process to make a call", 60_000);
  fake.setLimit({ windowMs: WINDOW_MS, requests: PER_WINDOW });
  const t0 = Date.now();
  await run(PER_WINDOW * WINDOWS);
  const seconds = (Date.now() - t0) / 1000;
  const counts = [...fake.acceptedPerWindow.entries()].sort(([a], [b]) => a - b).map(([, n]) => n);
  // The first and last windows are partial by construction (the run starts and ends inside them).
  const full = counts.slice(1, -1);
  const utilisation = full.reduce((a, b) => a + b, 0) / (full.length * PER_WINDOW);
  console.log(`provider allows ${PER_WINDOW} calls per ${WINDOW_MS} ms; ${PROCESSES} worker processes × 8; ${PER_WINDOW * WINDOWS} tasks in ${seconds.toFixed(1)} s`);
  console.log(`accepted per window: ${counts.join(" ")}; over the limit: ${fake.overruns}; most in flight: ${fake.maxInFlight}`);
  console.log(`utilisation of the full windows: ${(utilisation * 100).toFixed(1)} % (goal ≥ 95 %), overruns ${fake.overruns} (goal 0)`);
  console.log(JSON.stringify({ bench: "llm", utilisation: Number(utilisation.toFixed(4)), overruns: fake.overruns, processes: PROCESSES, window_ms: WINDOW_MS, allowed_per_window: PER_WINDOW, full_windows: full.length }));
} finally {
  await reap(procs);
  await fake.close();
  await fleet.queue(llmKind).obliterate({ force: true }).catch(() => {});
  // The quota keys of this run's prefix.
  for (let cursor = "0"; ; ) {
    const [next, keys] = await fleet.redis.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1000);
    if (keys.length) await fleet.redis.unlink(...keys);
    if ((cursor = next) === "0") break;
  }
  await fleet.close();
  await pool.end();
  await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`).catch(() => {});
  await admin.end();
  if (stack.started.length) await stopStack(cfg.DATA_DIR, stack.started as Array<"redis" | "postgres">).catch(() => {});
}
process.exit(0);
