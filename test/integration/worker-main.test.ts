// What ships, as it ships: the `worker` process (apps/worker/main.ts, no --queues → every queue, the
// production processors of workers/processors.ts) runs a daily refresh enqueued by the CLI over a real
// sample asset (the first 400 bars of BTC-USD), a parameter sweep from queues/flows/sweep.ts, an LLM task
// against a fake OpenAI server and a smoke job — then stops on SIGTERM with exit 0. And the main job
// (`npm run demo`, apps/cli/demo.ts): the shipped sample data through buildProcessors in-process, exit 0.
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { Job, type JobNode } from "bullmq";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { importPrices } from "../../db/import/import-prices.ts";
import { DATA_DIR, SAMPLE_DATA } from "../../db/sample-data.ts";
import { enqueue } from "../../queues/enqueue.ts";
import { runKey } from "../../queues/flows/daily-refresh.ts";
import { enqueueSweep } from "../../queues/flows/sweep.ts";
import { emaGridPairs } from "../../compute/backtest/sweep-grid.ts";
import type { RunSummary } from "../../queues/kinds/flow.ts";
import { newTaskId, type LlmResult } from "../../queues/kinds/llm.ts";
import { backtestKind, flowKind, KIND_NAMES, llmKind, maintenanceKind } from "../../queues/registry.ts";
import { KEYS } from "../fakes/llm-setup.ts";
import type { FakeProvider } from "../fakes/harness.ts";
import { startOpenAiFake } from "../fakes/openai.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/db.ts";
import { testFleet, type TestFleet } from "../helpers/fleet.ts";
import { reap, spawnTs, type EventProcess } from "../helpers/proc.ts";
import { redisUrl } from "../helpers/redis.ts";
import { poll } from "../helpers/wait.ts";

const execFileP = promisify(execFile);
const ROOT = resolve(import.meta.dirname, "../..");
const ASSET = "BTC-USD";
const BARS = 400;
const CSV_LINES = readFileSync(resolve(DATA_DIR, "BTC-USD_daily.csv"), "utf8").trim().split("\n");
const FIRST_DAY = CSV_LINES[1]!.slice(0, 10);
// The run is as of the last imported bar: every stage covers all 400 bars.
const AS_OF = CSV_LINES[BARS]!.slice(0, 10);
// The production default (EMA_TIMEFRAMES unset): 7D, 30D, 1W, 1M.
const EMA_TIMEFRAMES = 4;
const EMA_PERIODS = 7;
const ANSWER = "BTC-USD: momentum intact, no action needed.";

let db: TestDatabase;
let tf: TestFleet;
let fake: FakeProvider;
let dir: string;
const procs: EventProcess[] = [];

// Each test: its own database, queue prefix, fake provider and scratch directory.
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "worker-main-"));
  tf = testFleet("main");
  fake = await startOpenAiFake({ key: KEYS.openai });
  db = await createTestDatabase();
});
afterEach(async () => {
  await reap(procs.splice(0));
  await tf?.close();
  await fake?.close();
  await db?.drop();
  rmSync(dir, { recursive: true, force: true });
});

/** The environment an operator gives the fleet, pointed at this test's Redis prefix, database and fake. */
const env = () => ({
  REDIS_URL: redisUrl(),
  DATABASE_URL: db.url,
  QUEUE_PREFIX: tf.prefix,
  NODE_ENV: "test",
  LOG_LEVEL: "info",
  LOG_PRETTY: "false",
  // Empty is unset: every queue, no health server, only the OpenAI provider (at the fake).
  WORKER_QUEUES: "",
  HEALTH_PORT: "",
  PORT: "",
  COMPUTE_THREADS: "1",
  OPENAI_API_KEY: KEYS.openai,
  OPENAI_BASE_URL: `${fake.url}/v1`,
  GEMINI_API_KEY: "",
  ANTHROPIC_API_KEY: "",
  LLM_OFFLINE: "",
  TELEGRAM_BOT_TOKEN: "",
  // The run's research brief would be a second request to the fake; test/integration/research-brief.test.ts covers it.
  RESEARCH_BRIEF: "off",
});

const cli = (args: string[]) =>
  execFileP(process.execPath, ["--import", "tsx", "apps/cli/enqueue.ts", ...args], { cwd: ROOT, env: { ...process.env, ...env() }, timeout: 90_000 }).then(
    (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
    (err: { code: number; stdout: string; stderr: string }) => ({ code: err.code, stdout: err.stdout, stderr: err.stderr }),
  );

const count = async (sql: string, params: unknown[] = []) => (await db.pool.query<{ n: number }>(sql, params)).rows[0]!.n;

/** Every node of a flow, with its state. */
async function nodes(node: JobNode): Promise<Array<{ id: string; state: string }>> {
  const below = await Promise.all((node.children ?? []).map(nodes));
  return [{ id: node.job.id!, state: await node.job.getState() }, ...below.flat()];
}

const finished = (queue: Parameters<TestFleet["fleet"]["queue"]>[0], id: string, timeoutMs: number) =>
  poll(async () => {
    const state = await tf.fleet.queue(queue).getJobState(id);
    return state === "completed" || state === "failed" ? { state, job: (await Job.fromId(tf.fleet.queue(queue), id))! } : undefined;
  }, `${queue.name} job ${id} to finish`, timeoutMs);

describe("the worker process on every queue with the production processors", () => {
  it("runs a daily refresh, a sweep, an LLM task and a smoke job, then stops on SIGTERM", { timeout: 120_000 }, async () => {
    // A small real sample asset: the first 400 bars of the shipped BTC-USD file, through the real importer.
    const csv = join(dir, "btc-400.csv");
    writeFileSync(csv, `${CSV_LINES.slice(0, BARS + 1).join("\n")}\n`);
    expect(await importPrices(db.pool, csv, ASSET, "CRYPTO")).toEqual({ rows: BARS, written: BARS });
    const signalIds = (await db.pool.query<{ signal_id: number }>("SELECT signal_id FROM dim_signals WHERE is_active ORDER BY signal_id")).rows.map((r) => r.signal_id);
    expect(signalIds).toHaveLength(3);

    const w = spawnTs("apps/worker/main.ts", env());
    procs.push(w);
    const ready = await w.waitFor("worker ready", {}, 60_000);
    expect([...(ready.queues as string[])].sort()).toEqual([...KIND_NAMES].sort());

    fake.script({ type: "ok", text: ANSWER, usage: { input: 42, output: 9 } });
    const spec = { asset: ASSET, strategy: "ema_cross" as const, fast: [5, 20, 5] as [number, number, number], slow: [10, 50, 10] as [number, number, number], feeBps: 10, topN: 3, chunkSize: 5 };
    const grid = emaGridPairs(spec.fast, spec.slow);
    expect(grid).toHaveLength(16);
    const [refresh, sweep, task, smoke] = await Promise.all([
      cli(["daily-refresh", "--assets", ASSET, "--as-of", AS_OF, "--wait", "--timeout", "80"]),
      enqueueSweep(tf.fleet, spec),
      enqueue(tf.fleet, llmKind, { node: "task", taskId: newTaskId(), prompt: "Summarise the BTC-USD refresh in one line." }),
      enqueue(tf.fleet, maintenanceKind, { task: "smoke", id: "worker-main", message: "every queue" }),
    ]);

    // The daily refresh: the CLI waited for the run and exits 0 only when every asset completed.
    const { runId } = runKey(AS_OF, [ASSET]);
    // stderr carries the progress bar only, and no step ever failed.
    const progress = refresh.stderr.split("\n").filter(Boolean);
    expect(progress.filter((l) => !/^\[[#.]{30}\] \d\/9 steps, 0 failed$/.test(l))).toEqual([]);
    expect(refresh.code).toBe(0);
    const out = refresh.stdout.split("\n");
    expect(out[0]).toBe(`enqueued run ${runId} (root job run.${runId}) for ${ASSET}`);
    expect(out[1]).toBe(`run ${runId} (as of ${AS_OF}): completed`);
    expect(out[2]).toMatch(new RegExp(`^  ${ASSET}\\s+completed \\(3/3 strategies\\) quality \\d+\\.\\d \\((excellent|good|fair|poor)\\); ema_9_21 \\(#${signalIds[0]}\\) sharpe -?\\d`));
    const root = (await Job.fromId(tf.fleet.queue(flowKind), `run.${runId}`))!;
    const summary = root.returnvalue as RunSummary;
    expect(summary).toMatchObject({ runId, asOf: AS_OF, status: "completed" });
    expect(summary.assets).toHaveLength(1);
    expect(summary.assets[0]!.strategies!.map((s) => [s.signalId, s.status])).toEqual(signalIds.map((id) => [id, "completed"]));
    // Every node of the tree — the static part and what the gates added — completed.
    const flow = await tf.fleet.flowProducer().getFlow({ id: `run.${runId}`, queueName: flowKind.name, prefix: tf.prefix });
    // The job ids the README documents for a run's jobs.
    const expected = [
      `run.${runId}`,
      `asset.${ASSET}.${AS_OF}`,
      ...["indicators", "strategies"].map((g) => `gate.${g}.${ASSET}.${AS_OF}`),
      ...["ema", "returns", "volatility", "ta", "features", "quality"].map((st) => `stage.${st}.${ASSET}.${AS_OF}`),
      ...signalIds.flatMap((id) => [`signal.${id}.${ASSET}.${AS_OF}`, `backtest.${id}.${ASSET}.${AS_OF}`]),
    ];
    expect(expected).toHaveLength(16);
    const tree = await nodes(flow!);
    expect(tree.map((n) => n.id).sort()).toEqual([...expected].sort());
    expect(tree.filter((n) => n.state !== "completed")).toEqual([]);

    // What the stages wrote: one row per bar (EMAs: per period, and per timeframe and period).
    const perAsset = (table: string) => count(`SELECT count(*)::int AS n FROM ${table} JOIN assets USING (asset_id) WHERE symbol = $1`, [ASSET]);
    expect(await perAsset("ema_daily")).toBe(BARS * EMA_PERIODS);
    expect(await perAsset("ema_multi_tf")).toBe(BARS * EMA_PERIODS * EMA_TIMEFRAMES);
    for (const table of ["returns_daily", "vol_daily", "ta_daily", "daily_features"]) expect(await perAsset(table), table).toBe(BARS);
    expect(await count("SELECT count(*)::int AS n FROM quality_metrics WHERE job_id = $1", [`stage.quality.${ASSET}.${AS_OF}`])).toBe(1);
    // One backtest per active strategy over the whole window, its equity marked at every bar and one
    // trade row per trade the job reported.
    const runs = await db.pool.query<{ job_id: string; signal_id: number; period_start: string; period_end: string; equity: number; trades: number }>(
      `SELECT r.job_id, r.signal_id, to_char(r.period_start, 'YYYY-MM-DD') AS period_start, to_char(r.period_end, 'YYYY-MM-DD') AS period_end,
              (SELECT count(*)::int FROM backtest_equity e WHERE e.run_id = r.run_id) AS equity,
              (SELECT count(*)::int FROM backtest_trades t WHERE t.run_id = r.run_id) AS trades
       FROM backtest_runs r ORDER BY r.signal_id`,
    );
    const reported = await Promise.all(signalIds.map(async (id) => ((await Job.fromId(tf.fleet.queue(backtestKind), `backtest.${id}.${ASSET}.${AS_OF}`))!.returnvalue as { trades: number }).trades));
    expect(runs.rows).toEqual(
      signalIds.map((id, i) => ({ job_id: `backtest.${id}.${ASSET}.${AS_OF}`, signal_id: id, period_start: FIRST_DAY, period_end: AS_OF, equity: BARS, trades: reported[i] })),
    );

    // The sweep: one result row per grid point, ranked once, no chunk failed.
    const ranked = await finished(backtestKind, sweep.rootJobId, 60_000);
    expect(ranked.state).toBe("completed");
    const results = await db.pool.query<{ fast: number; slow: number; sharpe: number; total_return: number }>(
      "SELECT fast, slow, sharpe, total_return FROM sweep_results WHERE sweep_id = $1 ORDER BY fast, slow",
      [sweep.sweepId],
    );
    expect(results.rows.map((r) => [r.fast, r.slow])).toEqual(grid);
    // The ranking reports the best Sharpe ratios of the full grid (NaN last; ties by fast, slow).
    const best = [...results.rows]
      .sort((a, b) => Number(Number.isNaN(a.sharpe)) - Number(Number.isNaN(b.sharpe)) || b.sharpe - a.sharpe || a.fast - b.fast || a.slow - b.slow)
      .slice(0, spec.topN)
      .map((r) => ({ fast: r.fast, slow: r.slow, sharpe: r.sharpe, totalReturn: r.total_return }));
    expect(ranked.job.returnvalue).toMatchObject({ mode: "sweep-rank", evaluated: grid.length, failedChunks: 0, best, research: { skipped: null, s: 16, n: grid.length, t: BARS - 1 } });
    const recorded = await db.pool.query("SELECT combos, chunks, failed_chunks, status FROM sweeps WHERE sweep_id = $1", [sweep.sweepId]);
    expect(recorded.rows).toEqual([{ combos: grid.length, chunks: 4, failed_chunks: 0, status: "completed" }]);

    // The LLM task: the fake's answer is what the job returns and what the task table stores.
    const llm = await finished(llmKind, task.id!, 60_000);
    expect(llm.state).toBe("completed");
    expect(llm.job.returnvalue as LlmResult).toMatchObject({ taskId: task.data.taskId, provider: "openai", model: "gpt-4o-mini", text: ANSWER, inputTokens: 42, outputTokens: 9 });
    const stored = await db.pool.query("SELECT status, provider, model, output, input_tokens, output_tokens FROM llm_tasks WHERE task_id = $1", [task.data.taskId]);
    expect(stored.rows).toEqual([{ status: "completed", provider: "openai", model: "gpt-4o-mini", output: ANSWER, input_tokens: 42, output_tokens: 9 }]);
    expect(fake.requests).toHaveLength(1);
    expect(fake.violations).toEqual([]);

    // The maintenance queue is served by the same process.
    expect((await finished(maintenanceKind, smoke.id!, 30_000)).state).toBe("completed");
    expect((await db.pool.query("SELECT worker_pid, runs FROM fleet_smoke WHERE job_id = $1", [smoke.id])).rows).toEqual([{ worker_pid: w.pid, runs: 1 }]);

    w.kill("SIGTERM");
    expect(await w.exited).toEqual({ code: 0, signal: null });
  });
});

describe("the main job (npm run demo)", () => {
  it("loads the shipped sample data and runs its daily refresh through the production processors, exit 0", { timeout: 240_000 }, async () => {
    const symbols = SAMPLE_DATA.map((s) => s.symbol);
    // The last day every sample asset has data for.
    const lastDays = SAMPLE_DATA.map((s) => readFileSync(resolve(DATA_DIR, s.file), "utf8").trim().split("\n").at(-1)!.slice(0, 10));
    const asOf = [...lastDays].sort()[0]!;
    const { runId } = runKey(asOf, symbols);
    const r = await execFileP(process.execPath, ["--import", "tsx", "apps/cli/demo.ts"], { cwd: ROOT, env: { ...process.env, ...env() }, timeout: 220_000 });
    // stdout: the summary and the timing, between the process's JSON log lines (none of them an error).
    const all = r.stdout.trimEnd().split("\n");
    const logs = all.filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as { level: number; msg: string });
    expect(logs.filter((l) => l.level >= 50)).toEqual([]);
    const lines = all.filter((l) => !l.startsWith("{"));
    expect(lines[0]).toBe(`run ${runId} (as of ${asOf}): completed`);
    expect(lines.slice(1, -1).map((l) => l.replace(/ quality .*$/, ""))).toEqual(symbols.map((s) => `  ${s.padEnd(10)} completed (3/3 strategies)`));
    expect(lines.at(-1)).toMatch(/^demo finished in \d+\.\d s$/);
    expect(lines).toHaveLength(symbols.length + 2);
    // Every bar of every sample asset up to the day is in the feature store; three backtests per asset.
    for (const s of SAMPLE_DATA) {
      const bars = readFileSync(resolve(DATA_DIR, s.file), "utf8").trim().split("\n").slice(1).filter((l) => l.slice(0, 10) <= asOf).length;
      const n = await db.pool.query<{ features: number; backtests: number }>(
        `SELECT (SELECT count(*)::int FROM daily_features f WHERE f.asset_id = a.asset_id) AS features,
                (SELECT count(*)::int FROM backtest_runs b WHERE b.asset_id = a.asset_id AND b.period_end = $2::date) AS backtests
         FROM assets a WHERE a.symbol = $1`,
        [s.symbol, asOf],
      );
      expect(n.rows, s.symbol).toEqual([{ features: bars, backtests: 3 }]);
    }
  });
});
