// `npm run bench:features`: all indicators on BTC daily vs the technicalindicators package (same run,
// interleaved), and a full feature refresh of the four sample assets end to end through the fleet.
import { commandLine } from "../apps/command-line.ts";
import { Job } from "bullmq";
import { parseConfig } from "../ops/config.ts";
import { createLogger } from "../ops/logger.ts";
import { SAMPLE_DATA } from "../db/sample-data.ts";
import { Fleet } from "../queues/fleet.ts";
import { dailyRefresh } from "../queues/flows/daily-refresh.ts";
import type { RunSummary } from "../queues/kinds/flow.ts";
import { flowKind, stageKind } from "../queues/registry.ts";
import { createFleetComputePool } from "../workers/threads/fleet-pool.ts";
import { flowProcessor } from "../workers/flow/index.ts";
import { createWorker } from "../workers/runtime.ts";
import { stageProcessor } from "../workers/stage/processor.ts";
import { benchCompute } from "./features-compute.ts";
import { benchEnv } from "./env.ts";

commandLine("bench:features", `Usage: npm run bench:features\n\nAll indicators on BTC daily vs the technicalindicators package (same run, interleaved), then a full feature refresh of the four sample assets through the fleet.\n`);

const compute = await benchCompute();
console.log(`indicators on BTC daily: ours ${compute.ours_ms.toFixed(2)} ms, technicalindicators ${compute.ti_ms.toFixed(2)} ms → ${compute.speedup.toFixed(1)}× (goal ≥ 10×)`);

const env = await benchEnv("features");
const log = createLogger({ service: "bench", level: "warn", pretty: false });
const cfg = parseConfig({});
const fleet = new Fleet({ redisUrl: env.redisUrl, prefix: env.prefix });
const pool = createFleetComputePool();
const deps = { pool: env.pool, fleet, cfg, log, compute: pool };
const workers = [
  createWorker(stageKind, stageProcessor({ ...deps, emaTimeframes: cfg.EMA_TIMEFRAMES }), { redisUrl: env.redisUrl, prefix: env.prefix, log, concurrency: 4 }).start(),
  createWorker(flowKind, flowProcessor({ fleet, activeSignalIds: async () => [] }), { redisUrl: env.redisUrl, prefix: env.prefix, log, concurrency: 4 }).start(),
];
await Promise.all(workers.map((w) => w.waitUntilReady()));
const t0 = performance.now();
const run = await dailyRefresh(fleet, SAMPLE_DATA.map((s) => s.symbol), "2024-02-13");
let summary: RunSummary | undefined;
while (!summary) {
  const root = await Job.fromId(fleet.queue(flowKind), run.rootJobId);
  if (await root?.isCompleted()) summary = root!.returnvalue as RunSummary;
  else await new Promise((r) => setTimeout(r, 50));
}
const seconds = (performance.now() - t0) / 1000;
const stageJobs = await fleet.queue(stageKind).getJobs(["completed"], 0, -1);
const rows = stageJobs.reduce((n, j) => n + (j.returnvalue?.rowsWritten ?? 0), 0);
await Promise.all(workers.map((w) => w.close()));
await pool.close();
await fleet.close();
await env.close();
if (summary.status !== "completed") throw new Error(`refresh ended ${summary.status}: ${JSON.stringify(summary.assets)}`);
console.log(`full refresh of ${SAMPLE_DATA.length} assets: ${seconds.toFixed(1)} s (goal ≤ 60 s), ${rows} rows written, ${Math.round(rows / seconds)} rows/s`);
console.log(JSON.stringify({ bench: "features", speedup_vs_technicalindicators: Number(compute.speedup.toFixed(2)), full_refresh_s: Number(seconds.toFixed(2)), rows_per_s: Math.round(rows / seconds) }));
process.exit(0);
