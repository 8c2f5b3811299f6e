// Redis failover under the whole fleet (`npm start`: supervisor, web, three workers, scheduler, bot) running
// its main job, a daily refresh of the sample assets, and an EMA sweep of BTC-USD, against a real Sentinel set
// and a real Cluster. The master holding the fleet's keys is SIGKILLed while both run; the replica is promoted
// by the sentinels / the cluster; the fleet must reconnect by itself and both complete with results identical
// to a clean run on a standalone Redis. Replication is asynchronous, so an acknowledged write can be lost in
// the failover and leave a run waiting forever: then the test does what the README tells the operator to do
// (a daily refresh `--rerun next`; the sweep's stuck jobs removed and the same sweep enqueued again) and the
// results must still be identical. A failover on loopback rarely loses a write, so a third fleet has one lost
// for certain (an active job of each deleted from Redis) and proves that recovery. The report counts jobs lost,
// jobs run twice, and runs that needed a rerun.
import { execFile } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { promisify } from "node:util";
import { Job } from "bullmq";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { emaGridSize } from "../../compute/backtest/sweep-grid.ts";
import type { Pool } from "../../db/pool.ts";
import { closeRedis, createRedis, type Redis, type RedisTarget } from "../../queues/connection.ts";
import { Fleet } from "../../queues/fleet.ts";
import { RUN_KINDS, runKey as runKeyOf } from "../../queues/flows/daily-refresh.ts";
import { enqueueSweep, sweepIdOf, sweepTree, type SweepSpec } from "../../queues/flows/sweep.ts";
import type { BacktestResult } from "../../queues/kinds/backtest.ts";
import { backtestKind, flowKind, type KindName } from "../../queues/registry.ts";
import { RedisTopologyUnderTest } from "../helpers/redis-topology.ts";
import { poll } from "../helpers/wait.ts";
import { resultChecksums, sweepChecksums, totalRows, type Checksums } from "./checksums.ts";
import { ASSETS, FleetUnderTest, type RunOutcome } from "./fleet.ts";

const ROOT = resolve(import.meta.dirname, "../..");
const ARTIFACTS = resolve(ROOT, "test-artifacts");
const PREFIX = "{ta}";
const execFileP = promisify(execFile);

// 30,000 combinations in 20 chunk jobs, 7 s (idle machine) to 20 s (loaded) on the fleet's workers (one compute
// thread each) next to the daily refresh: the master is killed once the first chunk is stored, the others queued
// or active.
// S = 8 (70 splits) keeps the ranking's PBO cheap.
const SWEEP: SweepSpec = { asset: "BTC-USD", strategy: "ema_cross", fast: [2, 101, 1], slow: [210, 509, 1], feeBps: 10, topN: 10, chunkSize: 1500, s: 8 };
const SWEEP_ID = sweepIdOf(SWEEP);
const range = ([lo, hi, step]: readonly number[]) => `${lo}..${hi}:${step}`;
/** The same sweep as an operator types it. */
// prettier-ignore
const SWEEP_FLAGS = [
  "--strategy", SWEEP.strategy, "--asset", SWEEP.asset, "--fast", range(SWEEP.fast), "--slow", range(SWEEP.slow),
  "--fee-bps", String(SWEEP.feeBps), "--top", String(SWEEP.topN), "--chunk-size", String(SWEEP.chunkSize), "--pbo-blocks", String(SWEEP.s),
];

interface JobRef {
  queue: KindName;
  id: string;
}
const SWEEP_PLAN = sweepTree({ prefix: PREFIX }, SWEEP);
/** The ranking job first, then the chunks: every job of the sweep, by its deterministic id. */
const SWEEP_JOBS: JobRef[] = [SWEEP_PLAN.tree, ...(SWEEP_PLAN.tree.children ?? [])].map((j) => ({ queue: j.queueName as KindName, id: j.opts!.jobId! }));
const SWEEP_ROOT = SWEEP_JOBS[0]!.id;

/** The fleet of fleet.ts whose run the operator may rerun: waitRun() then follows the rerun. */
class OperatedFleet extends FleetUnderTest {
  /** The rerun the operator started (`--rerun next`). */
  rerun?: number;

  override async runKey() {
    const k = await super.runKey();
    return this.rerun ? runKeyOf(k.asOf, ASSETS, this.rerun) : k;
  }
}

/** The same with its Redis replaced by a topology: no embedded redis-server is started. */
class TopologyFleet extends OperatedFleet {
  private client?: Redis;

  constructor(readonly topology: RedisTopologyUnderTest) {
    super();
  }

  override get env(): Record<string, string> {
    return { ...super.env, ...this.topology.env };
  }

  override redis(): Redis {
    if (!this.client) {
      this.client = createRedis(this.topology.target, "faults-test");
      this.client.on("error", () => {}); // its master is killed on purpose
    }
    return this.client;
  }

  override async closeClients(): Promise<void> {
    if (this.client) await closeRedis(this.client);
    this.client = undefined;
    await super.closeClients();
  }
}

interface Report {
  topology: string;
  /** How far the run and the sweep were when the master was killed. */
  atKill: string;
  /** Kill → the topology names a new master for the fleet's slot. */
  failoverS: number;
  /** Kill → the fleet completes a job again. */
  recoverS: number;
  /** Jobs of a clean run (daily refresh and sweep) gone from Redis after the failover: a lost write, or a job never added behind one. */
  jobsLost: number;
  /** Attempts beyond the first, before and after any rerun. */
  jobsRunTwice: number;
  stalls: number;
  runsNeedingRerun: number;
  /** Which run was rerun, and why. */
  reruns: string[];
  /** Jobs still missing once the operator's recovery is done: must be 0. */
  jobsLostAfterRecovery: number;
  rowsCompared: number;
  checksums: "identical" | "different" | "not compared";
}
const reports: Report[] = [];
/** runS / sweepS: from the sweep's enqueue to the end of the run / of the sweep. */
let baseline: { checksums: Checksums; jobs: number; runJobs: JobRef[]; runS: number; sweepS: number };
let fleet: FleetUnderTest | undefined;
let producer: Fleet | undefined;
let topology: RedisTopologyUnderTest | undefined;

/** `npm run enqueue -- …` against `f`'s Redis and PostgreSQL, as an operator runs it; its stdout. */
async function enqueueCli(f: FleetUnderTest, args: string[]): Promise<string> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.REDIS_URL;
  delete env.DATABASE_URL;
  const { stdout } = await execFileP(process.execPath, ["--import", "tsx", "apps/cli/enqueue.ts", ...args], {
    cwd: ROOT,
    env: { ...env, ...f.env, LOG_LEVEL: "warn" },
    timeout: 120_000,
  });
  return stdout;
}

/** The sweep's ranking result once it is final; throws unless it ranked the whole grid within `timeoutMs`. */
async function waitSweep(p: Fleet, timeoutMs: number): Promise<BacktestResult> {
  const q = p.queue(backtestKind);
  const root = await poll(async () => {
    const state = await q.getJobState(SWEEP_ROOT);
    return state === "completed" || state === "failed" ? Job.fromId(q, SWEEP_ROOT) : undefined;
  }, `sweep ${SWEEP_ID} to finish`, timeoutMs, 250);
  const result = root.returnvalue as BacktestResult | null;
  if (!result) throw new Error(`sweep ${SWEEP_ID} failed: ${root.failedReason}`);
  // What an operator reads off `sweep --wait`: every chunk ranked, the whole grid evaluated.
  if (result.failedChunks || result.evaluated !== SWEEP_PLAN.combos) {
    throw new Error(`sweep ${SWEEP_ID} ranked ${String(result.evaluated)} of ${SWEEP_PLAN.combos} combinations with ${String(result.failedChunks)} failed chunks`);
  }
  return result;
}

/** The run's jobs (each queue's, by id) once it has finished. */
async function runJobs(f: FleetUnderTest, p: Fleet): Promise<JobRef[]> {
  const { runId } = await f.runKey();
  const refs: JobRef[] = [];
  for (const kind of RUN_KINDS) {
    for (const j of await p.queue(kind).getJobs(["completed", "failed"], 0, -1)) if (j.data?.runId === runId) refs.push({ queue: kind.name, id: j.id! });
  }
  return refs;
}

/** Of these jobs: how many Redis no longer has, attempts beyond the first, stalls. */
async function jobFigures(p: Fleet, refs: JobRef[]): Promise<{ lost: number; runTwice: number; stalls: number }> {
  const out = { lost: 0, runTwice: 0, stalls: 0 };
  for (const ref of refs) {
    const job = await Job.fromId(p.queueByName(ref.queue), ref.id);
    if (!job) {
      out.lost++;
      continue;
    }
    out.runTwice += Math.max(0, job.attemptsMade - 1);
    out.stalls += job.stalledCounter;
  }
  return out;
}

const sweepRows = async (pool: Pool) => (await pool.query<{ n: number }>("SELECT count(*)::int AS n FROM sweep_results WHERE sweep_id = $1", [SWEEP_ID])).rows[0]!.n;

const allChecksums = async (pool: Pool): Promise<Checksums> => ({ ...(await resultChecksums(pool)), ...(await sweepChecksums(pool, SWEEP_ID)) });

/**
 * Starts the fleet (its main job: the daily refresh) and, once the run is under way (jobs of it completed, observed
 * rather than slept for), enqueues the sweep next to it; when the sweep was enqueued.
 */
async function startWork(f: FleetUnderTest, target: RedisTarget): Promise<{ p: Fleet; started: number }> {
  f.start();
  await f.waitStarted();
  await poll(async () => (await f.completedJobs()) >= 4, `the run to be under way (log: ${f.logFile})`, 120_000, 50);
  const p = (producer = new Fleet({ redisUrl: target, prefix: PREFIX, name: "faults-test:producer" }));
  const started = Date.now();
  expect(await enqueueSweep(p, SWEEP)).toMatchObject({ created: true, combos: emaGridSize(SWEEP.fast, SWEEP.slow) });
  return { p, started };
}

beforeAll(async () => {
  const f = (fleet = await new FleetUnderTest().init());
  const { p, started } = await startWork(f, f.redisUrl);
  const [run, sweepS] = await Promise.all([
    f.waitRun().then((r) => ({ ...r, s: (Date.now() - started) / 1000 })),
    waitSweep(p, 300_000).then(() => (Date.now() - started) / 1000),
  ]);
  expect(run.summary.status).toBe("completed");
  const runJobRefs = await runJobs(f, p);
  expect(runJobRefs).toHaveLength(run.jobs);
  baseline = { checksums: await allChecksums(f.pool()), jobs: run.jobs, runJobs: runJobRefs, runS: run.s, sweepS };
  expect(baseline.checksums.sweep_results!.rows).toBe(SWEEP_PLAN.combos);
  await p.close();
  producer = undefined;
  await f.destroy();
  fleet = undefined;
}, 420_000);

afterEach(async (ctx) => {
  fleet?.keepLog(ctx.task);
  await producer?.close();
  producer = undefined;
  await fleet?.destroy();
  fleet = undefined;
  await topology?.stop();
  topology = undefined;
});

afterAll(async () => {
  await producer?.close();
  await fleet?.destroy();
  await topology?.stop();
  mkdirSync(ARTIFACTS, { recursive: true });
  const base = baseline && { jobs: baseline.jobs, sweepJobs: SWEEP_JOBS.length, sweepCombinations: SWEEP_PLAN.combos, runS: baseline.runS, sweepS: baseline.sweepS };
  writeFileSync(resolve(ARTIFACTS, "redis-topologies.json"), `${JSON.stringify({ baseline: base, reports }, null, 2)}\n`);
  console.table(reports);
});

// A run stuck on a lost write never finishes: after this long (from the fleet's recovery) it is given up and
// rerun. Twice the clean run's time, within bounds that keep the test's budget.
const deadlineMs = () => Math.min(240_000, Math.max(120_000, 2_000 * Math.max(baseline.runS, baseline.sweepS)));
const RERUN_DEADLINE_MS = 240_000;

/** The daily refresh to the end, with the operator's rerun if the failover left it unfinished. */
async function dailyRefreshThrough(f: OperatedFleet, p: Fleet, r: Report): Promise<RunOutcome> {
  let why: string;
  try {
    const run = await f.waitRun(deadlineMs());
    if (run.summary.status === "completed") {
      const before = await jobFigures(p, baseline.runJobs);
      Object.assign(r, { jobsLost: r.jobsLost + before.lost, jobsRunTwice: r.jobsRunTwice + before.runTwice, stalls: r.stalls + before.stalls });
      r.jobsLostAfterRecovery += Math.max(0, baseline.jobs - run.jobs);
      return run;
    }
    why = `finished ${run.summary.status}`;
  } catch (err) {
    why = (err as Error).message;
  }
  const before = await jobFigures(p, baseline.runJobs);
  const { asOf } = await f.runKey();
  const out = await enqueueCli(f, ["daily-refresh", "--assets", ASSETS.join(","), "--as-of", asOf, "--rerun", "next"]);
  const rerun = Number(/--rerun next: rerun (\d+)/.exec(out)?.[1]);
  if (!rerun) throw new Error(`daily-refresh --rerun next enqueued no rerun: ${out}`);
  f.rerun = rerun;
  r.runsNeedingRerun++;
  r.reruns.push(`daily refresh ${asOf} (rerun ${rerun}): ${why}`);
  const run = await f.waitRun(RERUN_DEADLINE_MS);
  Object.assign(r, {
    jobsLost: r.jobsLost + before.lost,
    jobsRunTwice: r.jobsRunTwice + before.runTwice + run.extraAttempts,
    stalls: r.stalls + before.stalls + run.stalls,
  });
  r.jobsLostAfterRecovery += Math.max(0, baseline.jobs - run.jobs);
  return run;
}

/** The sweep to the end, re-enqueued by the operator if the failover left it unfinished. */
async function sweepThrough(f: FleetUnderTest, p: Fleet, r: Report): Promise<void> {
  let why: string;
  try {
    await waitSweep(p, deadlineMs());
    const after = await jobFigures(p, SWEEP_JOBS);
    Object.assign(r, { jobsLost: r.jobsLost + after.lost, jobsRunTwice: r.jobsRunTwice + after.runTwice, stalls: r.stalls + after.stalls });
    r.jobsLostAfterRecovery += after.lost;
    return;
  } catch (err) {
    why = (err as Error).message;
  }
  const before = await jobFigures(p, SWEEP_JOBS);
  // Enqueueing a sweep whose ranking job exists is a no-op (its id is the sweep's): the operator first removes
  // the stuck sweep's jobs (bull-board's remove, with BOARD_READ_ONLY=false), then enqueues the same sweep.
  const q = p.queue(backtestKind);
  await poll(async () => {
    for (const ref of SWEEP_JOBS) await q.remove(ref.id, { removeChildren: true }).catch(() => 0);
    return (await Promise.all(SWEEP_JOBS.map((ref) => q.getJobState(ref.id)))).every((s) => s === "unknown");
  }, `the jobs of the stuck sweep ${SWEEP_ID} to be removed`, 60_000, 500);
  expect(await enqueueCli(f, ["sweep", ...SWEEP_FLAGS])).toMatch(new RegExp(`^enqueued sweep ${SWEEP_ID}:`, "m"));
  r.runsNeedingRerun++;
  r.reruns.push(`sweep ${SWEEP_ID}: ${why}`);
  await waitSweep(p, RERUN_DEADLINE_MS);
  const after = await jobFigures(p, SWEEP_JOBS);
  Object.assign(r, {
    jobsLost: r.jobsLost + before.lost,
    jobsRunTwice: r.jobsRunTwice + before.runTwice + after.runTwice,
    stalls: r.stalls + before.stalls + after.stalls,
  });
  r.jobsLostAfterRecovery += after.lost;
}

/** A report, filled in as the test goes: a failure leaves what was measured in it. */
function report(topology: string): Report {
  const r: Report = {
    topology,
    atKill: "",
    failoverS: Number.NaN,
    recoverS: Number.NaN,
    jobsLost: 0,
    jobsRunTwice: 0,
    stalls: 0,
    runsNeedingRerun: 0,
    reruns: [],
    jobsLostAfterRecovery: 0,
    rowsCompared: 0,
    checksums: "not compared",
  };
  reports.push(r);
  return r;
}

/** Both to the end (rerun where the operator must), then the results against the clean run's, and a clean stop. */
async function judge(f: OperatedFleet, p: Fleet, r: Report): Promise<void> {
  const [run] = await Promise.all([dailyRefreshThrough(f, p, r), sweepThrough(f, p, r)]);
  const checksums = await allChecksums(f.pool());
  r.rowsCompared = totalRows(checksums);
  r.checksums = JSON.stringify(checksums) === JSON.stringify(baseline.checksums) ? "identical" : "different";
  expect(run.summary.status, JSON.stringify(run.summary)).toBe("completed");
  expect(r.jobsLostAfterRecovery).toBe(0);
  expect(checksums).toEqual(baseline.checksums);
  await p.close();
  await f.closeClients();
  expect(await f.terminate("SIGTERM")).toBe(0);
}

/** Starts the fleet and the sweep on `t`, SIGKILLs the master of the fleet's slot while both run, and judges them. */
async function failover(t: RedisTopologyUnderTest): Promise<void> {
  const f = (fleet = await new TopologyFleet(t).init());
  const r = report(t.kind);
  const { p } = await startWork(f, t.target);
  // Mid-sweep: a chunk's rows stored, and the run not finished yet.
  const swept = await poll(async () => sweepRows(f.pool()), "a chunk of the sweep to be stored", 120_000, 50);
  const { runId } = await f.runKey();
  const runState = await p.queue(flowKind).getJobState(`run.${runId}`);
  if (runState === "completed" || runState === "failed") throw new Error(`no kill mid-run: run ${runId} ${runState} before the sweep got under way`);
  const before = await f.completedJobs();
  r.atKill = `run ${runState}, ${before} jobs completed (sweep chunks included); sweep ${swept} of ${SWEEP_PLAN.combos} combinations stored`;
  const victim = await t.masterFor(PREFIX);
  await t.kill(victim);
  const killed = Date.now();
  await poll(async () => (await t.masterFor(PREFIX)) !== victim, "a replica to be promoted", 60_000, 100);
  r.failoverS = (Date.now() - killed) / 1000;
  // A job completed after the kill: the fleet works on the new master (the count may have gone back by the
  // writes the failover lost, so "more than just after the promotion").
  const promoted = await f.completedJobs();
  await poll(async () => (await f.completedJobs()) > Math.min(promoted, before) || undefined, "a job to complete on the new master", 120_000, 100);
  r.recoverS = (Date.now() - killed) / 1000;
  await judge(f, p, r);
}

// What a lost acknowledged write does to a flow, made certain: an active job of `queue` whose id starts with
// `idPrefix` vanishes (its hash, its lock, its place in the active list), while its parent still counts on it.
const LOSE_ACTIVE_JOB = `
for _, id in ipairs(redis.call("LRANGE", KEYS[1], 0, -1)) do
  if string.sub(id, 1, #ARGV[2]) == ARGV[2] then
    redis.call("LREM", KEYS[1], 1, id)
    redis.call("DEL", ARGV[1] .. id, ARGV[1] .. id .. ":lock")
    return id
  end
end
return false`;

const loseActiveJob = (f: FleetUnderTest, queue: KindName, idPrefix: string) =>
  poll(
    async () => (await f.redis().eval(LOSE_ACTIVE_JOB, 1, `${PREFIX}:${queue}:active`, `${PREFIX}:${queue}:`, idPrefix)) as string | null,
    `an active ${queue} job ${idPrefix}… to lose`,
    60_000,
    20,
  );

describe("a daily refresh and a sweep through a Redis failover", () => {
  it("Sentinel (1 master, 1 replica, 3 sentinels): master SIGKILLed mid-run, replica promoted, both complete identical (rerun if a write was lost)", async () => {
    await failover((topology = await RedisTopologyUnderTest.sentinel()));
  }, 600_000);

  it("Cluster (3 masters, 3 replicas): the master of the {ta} slot SIGKILLed mid-run, replica takes over, both complete identical (rerun if a write was lost)", async () => {
    await failover((topology = await RedisTopologyUnderTest.cluster()));
  }, 600_000);

  it("a lost write made certain (an active stage job of the run and an active chunk of the sweep deleted): both stall, the operator's reruns complete them identical", async () => {
    const f = (fleet = await new OperatedFleet().init());
    const r = report("standalone, a job of each deleted");
    const { p } = await startWork(f, f.redisUrl);
    const lost = [await loseActiveJob(f, "stage", "stage."), await loseActiveJob(f, backtestKind.name, `sweep.${SWEEP_ID}.chunk`)];
    r.atKill = `deleted ${lost.join(", ")}`;
    await judge(f, p, r);
    expect(r.runsNeedingRerun).toBe(2);
    expect(r.jobsLost).toBeGreaterThanOrEqual(lost.length);
  }, 600_000);
});
