// Runs of a day that already ran, through the real CLI process (`npm run enqueue -- daily-refresh`) and the
// main job (`npm run demo` / `npm start`): the existing run is shown and the exit code is its status,
// `--rerun next` takes the lowest free rerun number, and an unknown asset is refused before anything is
// enqueued. Real Redis and PostgreSQL; the run's workers are in-process fakes below the real flow processor.
import { execFile } from "node:child_process";
import { resolve } from "node:path";
import { promisify } from "node:util";
import { Job } from "bullmq";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runMainJob } from "../../apps/cli/main-job.ts";
import { upsertAsset } from "../../db/repos/assets.ts";
import { recordTransitions, WORKFLOW_TYPE } from "../../db/repos/workflow.ts";
import { SAMPLE_DATA } from "../../db/sample-data.ts";
import { parseConfig } from "../../ops/config.ts";
import { formatSummary } from "../../producers/progress.ts";
import { closeRedis, createRedis } from "../../queues/connection.ts";
import { dailyRefresh, runKey } from "../../queues/flows/daily-refresh.ts";
import type { RunSummary } from "../../queues/kinds/flow.ts";
import { backtestKind, flowKind, signalKind, stageKind } from "../../queues/registry.ts";
import { PermanentError } from "../../workers/errors.ts";
import { flowProcessor } from "../../workers/flow/index.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/db.ts";
import { testFleet, type TestFleet } from "../helpers/fleet.ts";
import { redisUrl } from "../helpers/redis.ts";

const execFileP = promisify(execFile);
const ROOT = resolve(import.meta.dirname, "../..");
const SYMBOLS = SAMPLE_DATA.map((s) => s.symbol);
const KNOWN = "known: BTC-USD, ETH-USD, NASDAQ, SPY";
const DAY = "2022-11-15";
// The day on which ETH-USD's quality stage fails (its runs end partial).
const BAD_DAY = "2022-11-16";

let db: TestDatabase;
let tf: TestFleet;
beforeEach(async () => {
  db = await createTestDatabase();
  for (const s of SAMPLE_DATA) await upsertAsset(db.pool, s.symbol, s.session);
  tf = testFleet("runs");
});
afterEach(async () => {
  await tf.close();
  await db.drop();
});

/** The run's workers: the real flow processor (one strategy), fake stages, signal and backtest. */
async function startWorkers() {
  await tf.worker(flowKind, (p, ctx) => flowProcessor({ fleet: tf.fleet, activeSignalIds: async () => [1] })(p, ctx));
  await tf.worker(stageKind, async (p) => {
    if (p.asOf === BAD_DAY && p.asset === "ETH-USD" && p.stage === "quality") throw new PermanentError("injected quality failure");
    return { stage: p.stage, asset: p.asset, rowsWritten: 1 };
  });
  await tf.worker(signalKind, async (p) => ({ signalId: p.signalId, asset: p.asset, signalType: "test", rowsWritten: 1, featureVersionHash: "0", openPositions: 0 }));
  await tf.worker(backtestKind, async () => ({ mode: "signal" as const }));
}

const cli = (args: string[], extra: Record<string, string> = {}) =>
  execFileP(process.execPath, ["--import", "tsx", "apps/cli/enqueue.ts", ...args], {
    cwd: ROOT,
    env: { ...process.env, REDIS_URL: redisUrl(), DATABASE_URL: db.url, QUEUE_PREFIX: tf.prefix, NODE_ENV: "test", LOG_LEVEL: "warn", LOG_PRETTY: "false", ...extra },
    timeout: 60_000,
  }).then(
    (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
    (err: { code: number; stdout: string; stderr: string }) => ({ code: err.code, stdout: err.stdout, stderr: err.stderr }),
  );

/** The summary the run root returned. */
async function rootSummary(runId: string): Promise<RunSummary> {
  const root = await Job.fromId(tf.fleet.queue(flowKind), `run.${runId}`);
  return root!.returnvalue as RunSummary;
}

/** The summary the run root returned, as the CLI prints it. */
const printed = async (runId: string) => formatSummary(await rootSummary(runId));

/** Every key under the prefix (SCAN: the test Redis is shared). */
async function keysUnder(prefix: string): Promise<string[]> {
  const redis = createRedis(redisUrl(), "test-keys");
  try {
    const keys: string[] = [];
    let cursor = "0";
    do {
      const [next, batch] = await redis.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
      keys.push(...batch);
      cursor = next;
    } while (cursor !== "0");
    return keys;
  } finally {
    await closeRedis(redis);
  }
}

const ALL_STATES = ["completed", "failed", "waiting", "waiting-children", "active", "delayed"] as const;

describe("enqueue daily-refresh on a day that already ran", () => {
  it("--wait shows the existing run and exits by its status; --rerun next takes 1, then 2; --rerun N still works", { timeout: 240_000 }, async () => {
    await startWorkers();
    const assets = ["BTC-USD", "ETH-USD"];
    const args = ["daily-refresh", "--assets", assets.join(","), "--as-of", DAY];
    const r0 = runKey(DAY, assets).runId;

    const first = await cli([...args, "--wait"]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toBe(`enqueued run ${r0} (root job run.${r0}) for BTC-USD, ETH-USD\n${await printed(r0)}\n`);
    expect((await rootSummary(r0)).status).toBe("completed");
    const jobs = await tf.fleet.queue(flowKind).getJobCountByTypes(...ALL_STATES);

    // The same day again: the existing run, its result, nothing added, no progress bar (it has finished).
    const again = await cli([...args, "--wait"]);
    expect(again).toEqual({
      code: 0,
      stdout: `existing run for BTC-USD, ETH-USD, nothing enqueued: ${DAY} already ran (run ${r0}, completed); showing its result — --rerun next runs it again\n${await printed(r0)}\n`,
      stderr: "",
    });
    const peek = await cli(args);
    expect(peek).toEqual({ code: 0, stdout: `existing run for BTC-USD, ETH-USD, nothing enqueued: ${DAY} already ran (run ${r0}, completed); --wait shows its result — --rerun next runs it again\n`, stderr: "" });
    expect(await tf.fleet.queue(flowKind).getJobCountByTypes(...ALL_STATES)).toBe(jobs);

    // --rerun next: the lowest number no run of these assets holds, 1 and then 2, each a whole new run.
    for (const n of [1, 2]) {
      const rn = runKey(DAY, assets, n).runId;
      const fresh = await cli([...args, "--rerun", "next", "--wait"]);
      expect(fresh.code, fresh.stderr).toBe(0);
      expect(fresh.stdout).toBe(`enqueued run ${rn} (root job run.${rn}) for BTC-USD, ETH-USD (--rerun next: rerun ${n}, the lowest free number for ${DAY})\n${await printed(rn)}\n`);
      expect(rn).toMatch(new RegExp(`^${DAY}\\.r${n}-[0-9a-f]{8}$`));
    }
    // --rerun N names one: an existing rerun is shown like the first run.
    const r1 = runKey(DAY, assets, 1).runId;
    const named = await cli([...args, "--rerun", "1", "--wait"]);
    expect(named).toEqual({
      code: 0,
      stdout: `existing run for BTC-USD, ETH-USD, nothing enqueued: ${DAY} already ran (run ${r1}, completed); showing its result — --rerun next runs it again\n${await printed(r1)}\n`,
      stderr: "",
    });

    // A run only the workflow table remembers (its jobs left Redis) holds its number too, and is shown from its record.
    const r3 = runKey(DAY, assets, 3).runId;
    await recordTransitions(db.pool, [{ workflowId: r3, correlationId: r3, type: WORKFLOW_TYPE, phase: "done", status: "partial", event: "partial", final: true, metadata: { assets: { "BTC-USD": "completed", "ETH-USD": "failed" } } }]);
    const recorded = await cli([...args, "--rerun", "3", "--wait"]);
    expect(recorded).toEqual({
      code: 1,
      stdout: [
        `existing run for BTC-USD, ETH-USD, nothing enqueued: ${DAY} already ran (run ${r3}, partial; recorded in the workflow table, its jobs have left Redis); showing its result — --rerun next runs it again`,
        formatSummary({ runId: r3, asOf: DAY, status: "partial", assets: [{ asset: "BTC-USD", status: "completed" }, { asset: "ETH-USD", status: "failed" }] }),
        "",
      ].join("\n"),
      stderr: "",
    });
    // A record that never finished, its jobs gone from Redis (a lost Redis): nothing to show, exit 1.
    const r5 = runKey(DAY, assets, 5).runId;
    await recordTransitions(db.pool, [{ workflowId: r5, correlationId: r5, type: WORKFLOW_TYPE, phase: "BTC-USD:ema", status: "running", event: "completed" }]);
    const lost = await cli([...args, "--rerun", "5", "--wait"]);
    expect(lost).toEqual({
      code: 1,
      stdout: `existing run for BTC-USD, ETH-USD, nothing enqueued: ${DAY} was recorded (run ${r5}, running), but its jobs are gone from Redis; there is no outcome to show — --rerun next runs it again\n`,
      stderr: "",
    });
    const r4 = runKey(DAY, assets, 4).runId;
    const skips = await cli([...args, "--rerun", "next"]);
    expect(skips).toEqual({ code: 0, stdout: `enqueued run ${r4} (root job run.${r4}) for BTC-USD, ETH-USD (--rerun next: rerun 4, the lowest free number for ${DAY})\n`, stderr: "" });

    // Another asset set that shares an asset with the day's run is refused, naming that run and the way out.
    const other = await cli(["daily-refresh", "--assets", "BTC-USD", "--as-of", DAY, "--wait"]);
    expect(other).toEqual({ code: 1, stdout: "", stderr: `ta-fleet enqueue: BTC-USD is already in run ${r0} (another asset set) for ${DAY}; pass --rerun next to run BTC-USD again\n` });
  });

  it("an existing run that did not complete is shown too, and the exit code is 1", { timeout: 60_000 }, async () => {
    await startWorkers();
    const assets = ["BTC-USD", "ETH-USD"];
    const args = ["daily-refresh", "--assets", assets.join(","), "--as-of", BAD_DAY, "--wait"];
    const runId = runKey(BAD_DAY, assets).runId;
    const first = await cli(args);
    expect(first.code, first.stderr).toBe(1);
    expect(first.stdout).toBe(`enqueued run ${runId} (root job run.${runId}) for BTC-USD, ETH-USD\n${await printed(runId)}\n`);
    const again = await cli(args);
    expect(again).toEqual({
      code: 1,
      stdout: `existing run for BTC-USD, ETH-USD, nothing enqueued: ${BAD_DAY} already ran (run ${runId}, partial); showing its result — --rerun next runs it again\n${await printed(runId)}\n`,
      stderr: "",
    });
  });
});

describe("unknown assets", () => {
  it("are refused before anything is enqueued: exit 2 naming the field, the symbol and the known ones", { timeout: 60_000 }, async () => {
    const [refresh, next, sweep, fromConfig] = await Promise.all([
      cli(["daily-refresh", "--assets", "BTC-USD,FOO", "--as-of", DAY, "--wait"]),
      cli(["daily-refresh", "--assets", "FOO", "--as-of", DAY, "--rerun", "next"]),
      cli(["sweep", "--strategy", "ema_cross", "--asset", "FOO", "--fast", "5..10", "--slow", "20..30"]),
      cli(["daily-refresh", "--as-of", DAY], { DAILY_REFRESH_ASSETS: "BTC-USD,BAR" }),
    ]);
    expect(refresh).toEqual({ code: 2, stdout: "", stderr: `ta-fleet enqueue: --assets: unknown symbol "FOO" (${KNOWN})\n` });
    expect(next).toEqual({ code: 2, stdout: "", stderr: `ta-fleet enqueue: --assets: unknown symbol "FOO" (${KNOWN})\n` });
    expect(sweep).toEqual({ code: 2, stdout: "", stderr: `ta-fleet enqueue: --asset: unknown symbol "FOO" (${KNOWN})\n` });
    expect(fromConfig).toEqual({ code: 2, stdout: "", stderr: `ta-fleet enqueue: DAILY_REFRESH_ASSETS: unknown symbol "BAR" (${KNOWN})\n` });

    // A database without any asset says what to do first.
    await db.pool.query("DELETE FROM assets");
    const empty = await cli(["daily-refresh", "--assets", "BTC-USD", "--as-of", DAY]);
    expect(empty).toEqual({
      code: 2,
      stdout: "",
      stderr: 'ta-fleet enqueue: --assets: unknown symbol "BTC-USD" (no asset is known yet; import prices first: npm run import -- <file.csv> --symbol X --session CRYPTO|EQUITY)\n',
    });
    // Not a job, not even a queue's key.
    expect(await keysUnder(tf.prefix)).toEqual([]);
  });
});

describe("the main job (npm run demo, npm start) on a day that already ran", () => {
  it("shows the existing run, saying so; --rerun runs the next free rerun; another set holding an asset gets a rerun", { timeout: 90_000 }, async () => {
    await startWorkers();
    const cfg = parseConfig({ QUEUE_PREFIX: tf.prefix });
    const main = (opts: { asOf?: string; rerun?: boolean; withDb?: boolean } = {}) =>
      runMainJob({ redisUrl: redisUrl(), cfg, asOf: opts.asOf ?? DAY, rerun: opts.rerun ?? false, ...(opts.withDb === false ? {} : { databaseUrl: db.url }), timeoutMs: 30_000 });
    const id = (asOf: string, rerun?: number) => runKey(asOf, SYMBOLS, rerun).runId;

    // The first run of the day: its summary only.
    const first = await main();
    expect(first.summary).toMatchObject({ runId: id(DAY), status: "completed" });
    expect(first.text).toBe(await printed(id(DAY)));
    // Again (as `npm start` calls it, without the database): the existing run, the first line says which.
    const again = await main({ withDb: false });
    expect(again.summary).toEqual(first.summary);
    expect(again.text).toBe(`${DAY} already ran (run ${id(DAY)}, completed); showing its result — \`npm run demo -- --rerun\` for a fresh run\n${first.text}`);
    // --rerun: a fresh run under the lowest free number, each time.
    for (const n of [1, 2]) {
      const fresh = await main({ rerun: true });
      expect(fresh.summary).toMatchObject({ runId: id(DAY, n), status: "completed" });
      expect(fresh.text).toBe(`${DAY} again, as asked (--rerun); fresh run: rerun ${n} (run ${id(DAY, n)}), the lowest free rerun number\n${await printed(id(DAY, n))}`);
    }

    // A day whose run only a record remembers, unfinished: a fresh run, since there is no result to show.
    const lostDay = "2022-11-17";
    await recordTransitions(db.pool, [{ workflowId: id(lostDay), correlationId: id(lostDay), type: WORKFLOW_TYPE, phase: "SPY:ema", status: "running", event: "completed" }]);
    const lost = await main({ asOf: lostDay });
    expect(lost.summary).toMatchObject({ runId: id(lostDay, 1), status: "completed" });
    expect(lost.text).toBe(
      `${lostDay} was recorded (run ${id(lostDay)}, running), but its jobs are gone from Redis; fresh run: rerun 1 (run ${id(lostDay, 1)}), the lowest free rerun number\n${await printed(id(lostDay, 1))}`,
    );

    // A day on which another asset set already holds BTC-USD: the main job cannot show a run of its own, so it runs one.
    const other = await dailyRefresh(tf.fleet, ["BTC-USD"], BAD_DAY);
    const taken = await main({ asOf: BAD_DAY });
    expect(taken.summary).toMatchObject({ runId: id(BAD_DAY, 1), status: "partial" });
    expect(taken.text).toBe(
      `${BAD_DAY}: BTC-USD is already in run ${other.runId} (another asset set); fresh run: rerun 1 (run ${id(BAD_DAY, 1)}), the lowest free rerun number\n${await printed(id(BAD_DAY, 1))}`,
    );
  });
});
