// A walk-forward under a crash: the fleet as `npm start` runs it with two worker processes, a walk-forward of
// BTC-USD whose windows each take seconds, and kill -9 of a worker while both hold window jobs. The supervisor
// restarts it, stalled-job recovery hands the killed worker's windows back (no attempt spent), and what is
// stored — every window row and the stitched summary — is byte-identical to an uninterrupted reference run of
// the same walk-forward, computed in this test by the same processor under another id.
import { mkdirSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { Job } from "bullmq";
import { afterEach, describe, expect, it } from "vitest";
import { findAsset } from "../../db/repos/assets.ts";
import { countBars } from "../../db/repos/prices.ts";
import { emaGridSize } from "../../compute/backtest/sweep-grid.ts";
import { parseConfig } from "../../ops/config.ts";
import { Fleet } from "../../queues/fleet.ts";
import { enqueueWalkForward, type WalkForwardSpec } from "../../queues/flows/walk-forward.ts";
import { parsePayload } from "../../queues/kind.ts";
import { backtestKind } from "../../queues/registry.ts";
import { backtestProcessor } from "../../workers/backtest/processor.ts";
import type { JobContext } from "../../workers/runtime.ts";
import { createFleetComputePool } from "../../workers/threads/fleet-pool.ts";
import { memoryLogger } from "../helpers/log.ts";
import { poll } from "../helpers/wait.ts";
import { walkForwardChecksums } from "./checksums.ts";
import { FleetUnderTest } from "./fleet.ts";

const ARTIFACTS = resolve(import.meta.dirname, "../../test-artifacts");
const PREFIX = "{ta}";
// 8 windows of 365 bars over BTC-USD's 2,982; 10,888 combinations make each window a second or more of one
// compute thread, so a worker (concurrency 4, one thread on two cores) holds its windows long enough to be killed.
const SPEC: WalkForwardSpec = { asset: "BTC-USD", strategy: "ema_cross", fast: [2, 60, 1], slow: [10, 400, 2], train: 365, test: 365, feeBps: 10 };
const WORKER_CONCURRENCY = parseConfig({}).WORKER_CONCURRENCY;

let fleet: FleetUnderTest | undefined;

afterEach(async (ctx) => {
  fleet?.keepLog(ctx.task);
  await fleet?.destroy();
  fleet = undefined;
});

describe("a walk-forward under a crash", () => {
  it("kill -9 of a worker holding window jobs: the flow resumes, no attempt is spent, the stored result is identical to an uninterrupted run", async () => {
    const f = (fleet = await new FleetUnderTest(2).init());
    f.start();
    const procs = await f.waitStarted();
    // The sample data is in; the main job (a daily refresh) runs alongside on the other queues.
    await f.runKey();

    const producer = new Fleet({ redisUrl: f.redisUrl, prefix: PREFIX, name: "faults-test:walk-forward" });
    const compute = createFleetComputePool(1);
    try {
      const asset = (await findAsset(f.pool(), SPEC.asset))!;
      const wf = await enqueueWalkForward(producer, SPEC, await countBars(f.pool(), asset.asset_id));
      expect(wf).toMatchObject({ created: true, windows: 8 });
      const queue = producer.queue(backtestKind);
      const windowIds = Array.from({ length: wf.windows }, (_, k) => `wf.${wf.walkForwardId}.window${k}`);

      // Mid-flow: a window stored, and more window jobs active than one process runs at once, so the victim
      // (whichever worker it is) holds at least one.
      await poll(async () => {
        const active = (await f.redis().lrange(`${PREFIX}:backtest:active`, 0, -1)).filter((id) => windowIds.includes(id));
        const { rows } = await f.pool().query<{ n: number }>("SELECT count(*)::int AS n FROM walk_forward_windows WHERE walk_forward_id = $1", [wf.walkForwardId]);
        return rows[0]!.n >= 1 && rows[0]!.n < wf.windows && active.length > WORKER_CONCURRENCY;
      }, "a window stored while both workers hold window jobs", 120_000, 50);
      const victim = procs.get("worker.2")!;
      process.kill(victim, "SIGKILL");
      const killedAt = Date.now();
      await poll(() => {
        const pid = f.processes().get("worker.2");
        return pid !== undefined && pid !== victim;
      }, "the supervisor to restart worker.2", 60_000, 200);

      const root = await poll(async () => {
        const state = await queue.getJobState(wf.rootJobId);
        return state === "completed" || state === "failed" ? Job.fromId(queue, wf.rootJobId) : undefined;
      }, `walk-forward ${wf.walkForwardId} to finish (log: ${f.logFile})`, 180_000, 250);
      const resumedS = Math.round((Date.now() - killedAt) / 100) / 10;
      expect(root!.failedReason).toBeUndefined();
      expect(root!.returnvalue).toMatchObject({ mode: "wf-root", windows: wf.windows });

      // Each window and the root completed once on its first attempt; the killed worker's windows came back
      // through stalled-job recovery, which spends no attempt.
      const jobs = await Promise.all([...windowIds, wf.rootJobId].map((id) => Job.fromId(queue, id)));
      expect(await Promise.all(jobs.map((j) => j!.getState()))).toEqual(jobs.map(() => "completed"));
      expect(jobs.map((j) => j!.attemptsMade)).toEqual(jobs.map(() => 1));
      const stalls = jobs.reduce((n, j) => n + j!.stalledCounter, 0);
      expect(stalls).toBeGreaterThanOrEqual(1);
      expect(stalls).toBeLessThanOrEqual(WORKER_CONCURRENCY);
      expect(f.processes().size).toBe(procs.size);

      // The uninterrupted reference: the same jobs' payloads under another id, through the same processor,
      // one after the other in this process.
      const referenceId = `${wf.walkForwardId}-reference`;
      const processor = backtestProcessor({ pool: f.pool(), fleet: producer, cfg: parseConfig({}), log: memoryLogger().log, compute });
      const signal = new AbortController().signal;
      for (const job of jobs) await processor(parsePayload(backtestKind, { ...job!.data, walkForwardId: referenceId }), { signal } as JobContext);

      const crashed = await walkForwardChecksums(f.pool(), wf.walkForwardId);
      expect(crashed).toEqual({ walk_forward_windows: { rows: wf.windows, md5: expect.any(String) }, walk_forwards: { rows: 1, md5: expect.any(String) } });
      expect(crashed).toEqual(await walkForwardChecksums(f.pool(), referenceId));
      const { rows } = await f.pool().query<{ k: number }>("SELECT k FROM walk_forward_windows WHERE walk_forward_id = $1 ORDER BY k", [wf.walkForwardId]);
      expect(rows.map((r) => r.k)).toEqual(windowIds.map((_, k) => k));
      const report = { fault: "kill -9 of worker.2 mid-walk-forward", windows: wf.windows, combinations: emaGridSize(SPEC.fast, SPEC.slow), stalls, killToCompletedS: resumedS, checksums: "identical", crashed };
      mkdirSync(ARTIFACTS, { recursive: true });
      writeFileSync(resolve(ARTIFACTS, "faults-walk-forward.json"), `${JSON.stringify(report, null, 2)}\n`);
    } finally {
      await compute.close();
      await producer.close();
    }
  }, 300_000);
});
