// The fault suite (`npm run test:faults`): the fleet started as `npm start` starts it — supervisor, web,
// three workers, scheduler, bot, embedded Redis and PostgreSQL — runs its main job, a daily refresh of the
// four sample assets, under each fault of ordinary operation. Every run must end `completed`, with no
// process lost (a killed one restarted by the supervisor) and result tables byte-identical to a clean run.
import { execFile } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { promisify } from "node:util";
import { Queue } from "bullmq";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { poll } from "../helpers/wait.ts";
import { resultChecksums, totalRows, type Checksums } from "./checksums.ts";
import { FleetUnderTest, type RunOutcome } from "./fleet.ts";

const execFileP = promisify(execFile);
const ROOT = resolve(import.meta.dirname, "../..");
const ARTIFACTS = resolve(ROOT, "test-artifacts");
const OUTAGE_MS = 25_000;

interface Report {
  fault: string;
  recoverS: number;
  extraAttempts: number;
  stalls: number;
  deferrals: number;
  restarted: string[];
  rowsCompared: number;
  checksums: "identical" | "different";
}
const reports: Report[] = [];
let baseline: { checksums: Checksums; spans: string[]; jobs: number };
let fleet: FleetUnderTest | undefined;

/** Keeps checking, for `ms`, that every fleet process is the one that was there: an outage kills none. */
async function holdFor(f: FleetUnderTest, ms: number, expected: Map<string, number>): Promise<void> {
  const until = Date.now() + ms;
  await poll(() => {
    const now = f.processes();
    for (const [name, pid] of expected) if (now.get(name) !== pid) throw new Error(`${name} (pid ${pid}) is gone during the fault`);
    return Date.now() >= until;
  }, `the fault to last ${ms} ms`, ms + 10_000, 500);
}

/** Mid-run: some jobs of the run completed, the run itself not yet. */
const midRun = (f: FleetUnderTest) => poll(async () => (await f.completedJobs()) >= 4, "the run to be under way", 120_000, 50);

async function judge(f: FleetUnderTest, fault: string, before: Map<string, number>, faultEnded: number, run: RunOutcome, allowRestart: string[] = []): Promise<void> {
  expect(run.summary.status, `${fault}: ${JSON.stringify(run.summary)}`).toBe("completed");
  const after = f.processes();
  expect([...after.keys()].sort()).toEqual([...before.keys()].sort());
  const restarted = [...before].filter(([name, pid]) => after.get(name) !== pid).map(([name]) => name);
  expect(restarted).toEqual(allowRestart);
  const checksums = await resultChecksums(f.pool());
  reports.push({
    fault,
    recoverS: Math.round((Date.now() - faultEnded) / 100) / 10,
    extraAttempts: run.extraAttempts,
    stalls: run.stalls,
    deferrals: run.deferrals,
    restarted,
    rowsCompared: totalRows(checksums),
    checksums: JSON.stringify(checksums) === JSON.stringify(baseline.checksums) ? "identical" : "different",
  });
  expect(checksums).toEqual(baseline.checksums);
}

beforeAll(async () => {
  const f = (fleet = await new FleetUnderTest().init());
  f.start();
  await f.waitStarted();
  const run = await f.waitRun();
  expect(run.summary.status).toBe("completed");
  const spans = await poll(async () => {
    const ids = await f.completedSpanJobIds();
    return ids.length >= run.jobs ? ids : undefined;
  }, "the clean run's spans", 30_000, 250);
  baseline = { checksums: await resultChecksums(f.pool()), spans, jobs: run.jobs };
  await f.closeClients();
  expect(await f.terminate("SIGTERM")).toBe(0);
  expect(f.leftovers()).toEqual([]);
  await f.destroy();
  fleet = undefined;
}, 300_000);

afterEach(async (ctx) => {
  fleet?.keepLog(ctx.task);
  await fleet?.destroy();
  fleet = undefined;
});

afterAll(async () => {
  await fleet?.destroy(); // a failed baseline leaves its fleet here
  mkdirSync(ARTIFACTS, { recursive: true });
  writeFileSync(resolve(ARTIFACTS, "faults.json"), `${JSON.stringify({ baselineRows: totalRows(baseline?.checksums ?? {}), reports }, null, 2)}\n`);
  console.table(reports);
});

async function started(): Promise<{ f: FleetUnderTest; procs: Map<string, number> }> {
  const f = (fleet = await new FleetUnderTest().init());
  f.start();
  const procs = await f.waitStarted();
  return { f, procs };
}

describe("a daily refresh under faults", () => {
  it("PostgreSQL stopped for 25 s mid-run: nothing dies, no attempt is spent, telemetry arrives, results identical", async () => {
    const { f, procs } = await started();
    await midRun(f);
    await f.closeClients(); // the test's own pool must not hold the server up
    await f.stopPostgres();
    const stoppedAt = Date.now();
    // Every process says it is not ready while its database is gone, and ready again after.
    const names = ["web.1", "worker.1", "scheduler.1", "bot.1"] as const;
    expect(await Promise.all(names.map((n) => f.readiness(n)))).toEqual([503, 503, 503, 503]);
    await holdFor(f, OUTAGE_MS - (Date.now() - stoppedAt), procs);
    await f.startPostgres();
    const back = Date.now();
    await poll(async () => (await Promise.all(names.map((n) => f.readiness(n)))).every((s) => s === 200), "every process to be ready again", 30_000, 250);
    const run = await f.waitRun();
    await judge(f, "PostgreSQL stopped 25 s", procs, back, run);
    expect(run.extraAttempts).toBe(0);
    expect(run.deferrals).toBeGreaterThan(0);
    // Spans buffered through the outage are written once it is over: one completed span per job.
    await poll(async () => (await f.completedSpanJobIds()).length === baseline.spans.length, "every job's span", 60_000, 500).catch(async (err: Error) => {
      const got = new Set(await f.completedSpanJobIds());
      throw new Error(`${err.message}; missing: ${baseline.spans.filter((id) => !got.has(id)).join(", ")}`, { cause: err });
    });
    expect(await f.completedSpanJobIds()).toEqual(baseline.spans);
  }, 300_000);

  it("redis-server SIGKILLed and restarted mid-run: the fleet reconnects and the run completes", async () => {
    const { f, procs } = await started();
    await midRun(f);
    await f.killRedis();
    await f.restartRedis();
    const back = Date.now();
    const run = await f.waitRun();
    await judge(f, "redis-server SIGKILL + restart", procs, back, run);
  }, 300_000);

  it("kill -9 of one of three workers mid-run: the supervisor restarts it, the others keep running", async () => {
    const { f, procs } = await started();
    await midRun(f);
    const victim = procs.get("worker.2")!;
    process.kill(victim, "SIGKILL");
    const killed = Date.now();
    await poll(() => {
      const pid = f.processes().get("worker.2");
      return pid !== undefined && pid !== victim;
    }, "the supervisor to restart worker.2", 60_000, 200);
    const run = await f.waitRun();
    await judge(f, "kill -9 of worker.2", procs, killed, run, ["worker.2"]);
    expect(run.extraAttempts).toBe(0);
  }, 300_000);

  it("SIGTERM of the whole fleet mid-run and a restart: nothing is left behind, the run resumes and completes", async () => {
    const { f } = await started();
    await midRun(f);
    await f.closeClients();
    expect(await f.terminate("SIGTERM")).toBe(0);
    expect(f.leftovers()).toEqual([]);
    f.start();
    const procs = await f.waitStarted();
    const back = Date.now();
    const run = await f.waitRun();
    await judge(f, "SIGTERM of the fleet + restart", procs, back, run);
  }, 300_000);

  it("a poison job mid-run fails with its reason; the run completes; `npm run stop` leaves nothing", async () => {
    const { f, procs } = await started();
    await midRun(f);
    const stage = new Queue("stage", { connection: f.redis(), prefix: "{ta}" });
    try {
      const job = await stage.add("ema", { stage: "ema", asset: "BTC-USD", asOf: "2022-11-15" }, { jobId: "poison-1", delay: 60_000 });
      await f.redis().hset(`{ta}:stage:${job.id}`, "data", "{this is not json");
      await job.promote();
      const reason = await poll(async () => ((await f.redis().zscore("{ta}:stage:failed", "poison-1")) !== null ? f.redis().hget("{ta}:stage:poison-1", "failedReason") : undefined), "the poison job to fail", 60_000, 200);
      expect(reason).toMatch(/^unreadable job data/);
    } finally {
      await stage.close();
    }
    const injected = Date.now();
    const run = await f.waitRun();
    await judge(f, "poison job", procs, injected, run);
    await f.closeClients();
    const stop = await execFileP(process.execPath, ["--import", "tsx", "apps/cli/stop.ts"], { cwd: ROOT, env: { ...process.env, ...f.env }, timeout: 120_000 });
    expect(stop.stdout).toMatch(/stopped/);
    expect(f.leftovers()).toEqual([]);
  }, 300_000);
});
