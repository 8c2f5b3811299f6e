// Redis failover under the whole fleet (`npm start`: supervisor, web, three workers, scheduler, bot) running
// its main job, a daily refresh of the sample assets, against a real Sentinel set and a real Cluster. The
// master holding the fleet's keys is SIGKILLed mid-run; the replica is promoted by the sentinels / the
// cluster; the fleet must reconnect by itself and the run complete with results identical to a clean run on
// a standalone Redis. Replication is asynchronous, so an acknowledged write can be lost in the failover:
// the report counts jobs lost, jobs run twice, and runs that did not finish (which need an operator's rerun).
import { mkdirSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { closeRedis, createRedis, type Redis } from "../../queues/connection.ts";
import { RedisTopologyUnderTest } from "../helpers/redis-topology.ts";
import { poll } from "../helpers/wait.ts";
import { resultChecksums, totalRows, type Checksums } from "./checksums.ts";
import { FleetUnderTest, type RunOutcome } from "./fleet.ts";

const ARTIFACTS = resolve(import.meta.dirname, "../../test-artifacts");

/** The fleet of fleet.ts with its Redis replaced by a topology: no embedded redis-server is started. */
class TopologyFleet extends FleetUnderTest {
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
  /** Kill → the topology names a new master for the fleet's slot. */
  failoverS: number;
  /** Kill → the fleet completes a job again. */
  recoverS: number;
  jobsLost: number;
  jobsRunTwice: number;
  stalls: number;
  runsNeedingRerun: number;
  rowsCompared: number;
  checksums: "identical" | "different";
}
const reports: Report[] = [];
let baseline: { checksums: Checksums; jobs: number };
let fleet: FleetUnderTest | undefined;
let topology: RedisTopologyUnderTest | undefined;

beforeAll(async () => {
  const f = (fleet = await new FleetUnderTest().init());
  f.start();
  await f.waitStarted();
  const run = await f.waitRun();
  expect(run.summary.status).toBe("completed");
  baseline = { checksums: await resultChecksums(f.pool()), jobs: run.jobs };
  await f.destroy();
  fleet = undefined;
}, 300_000);

afterEach(async () => {
  await fleet?.destroy();
  fleet = undefined;
  await topology?.stop();
  topology = undefined;
});

afterAll(async () => {
  await fleet?.destroy();
  await topology?.stop();
  mkdirSync(ARTIFACTS, { recursive: true });
  writeFileSync(resolve(ARTIFACTS, "redis-topologies.json"), `${JSON.stringify({ baselineJobs: baseline?.jobs, reports }, null, 2)}\n`);
  console.table(reports);
});

/** Starts the fleet on `t`, SIGKILLs the master of the fleet's slot mid-run, and judges the run. */
async function failover(t: RedisTopologyUnderTest): Promise<void> {
  const f = (fleet = await new TopologyFleet(t).init());
  f.start();
  await f.waitStarted();
  // Mid-run, observed rather than slept for: some jobs of the run completed.
  const before = await poll(async () => {
    const n = await f.completedJobs();
    return n >= 4 ? n : undefined;
  }, "the run to be under way", 120_000, 50);
  const victim = await t.masterFor("{ta}");
  await t.kill(victim);
  const killed = Date.now();
  await poll(async () => (await t.masterFor("{ta}")) !== victim, "a replica to be promoted", 60_000, 100);
  const failoverS = (Date.now() - killed) / 1000;
  // A job completed after the kill: the fleet works on the new master (the count may have gone back by the
  // writes the failover lost, so "more than just after the promotion").
  const promoted = await f.completedJobs();
  let recoverS = Number.NaN;
  let run: RunOutcome | undefined;
  let runsNeedingRerun = 0;
  try {
    await poll(async () => (await f.completedJobs()) > Math.min(promoted, before) || undefined, "a job to complete on the new master", 120_000, 100);
    recoverS = (Date.now() - killed) / 1000;
    run = await f.waitRun(240_000);
  } catch (err) {
    // The run stalled: a write the failover lost left it waiting. That is what the report must show.
    runsNeedingRerun = 1;
    reports.push({ topology: t.kind, failoverS, recoverS, jobsLost: Number.NaN, jobsRunTwice: Number.NaN, stalls: Number.NaN, runsNeedingRerun, rowsCompared: 0, checksums: "different" });
    throw new Error(`the run did not finish after the ${t.kind} failover (needs an operator's rerun)`, { cause: err });
  }
  const checksums = await resultChecksums(f.pool());
  const identical = JSON.stringify(checksums) === JSON.stringify(baseline.checksums);
  reports.push({
    topology: t.kind,
    failoverS,
    recoverS,
    jobsLost: Math.max(0, baseline.jobs - run.jobs),
    jobsRunTwice: run.extraAttempts,
    stalls: run.stalls,
    runsNeedingRerun,
    rowsCompared: totalRows(checksums),
    checksums: identical ? "identical" : "different",
  });
  expect(run.summary.status, JSON.stringify(run.summary)).toBe("completed");
  expect(checksums).toEqual(baseline.checksums);
  await f.closeClients();
  expect(await f.terminate("SIGTERM")).toBe(0);
}

describe("a daily refresh through a Redis failover", () => {
  it("Sentinel (1 master, 1 replica, 3 sentinels): master SIGKILLed mid-run, replica promoted, run completes identical", async () => {
    await failover((topology = await RedisTopologyUnderTest.sentinel()));
  }, 600_000);

  it("Cluster (3 masters, 3 replicas): the master of the {ta} slot SIGKILLed mid-run, replica takes over, run completes identical", async () => {
    await failover((topology = await RedisTopologyUnderTest.cluster()));
  }, 600_000);
});
