// `npm run bench:backtest`: single-strategy backtests per second on one core (BTC daily), and a
// 10,000-combination EMA sweep as jobs through 2 worker processes, end to end.
import { commandLine } from "../apps/command-line.ts";
import { spawn } from "node:child_process";
import { resolve } from "node:path";
import { Job } from "bullmq";
import { Fleet } from "../queues/fleet.ts";
import { enqueueSweep } from "../queues/flows/sweep.ts";
import type { BacktestResult } from "../queues/kinds/backtest.ts";
import { backtestKind } from "../queues/registry.ts";
import { benchBacktestCompute } from "./backtest-compute.ts";
import { benchEnv } from "./env.ts";

commandLine("bench:backtest", `Usage: npm run bench:backtest\n\nSingle-strategy backtests per second on one core (BTC daily), then a 10,000-combination EMA sweep as jobs through 2 worker processes.\n`);

const core = await benchBacktestCompute();
console.log(`single-strategy backtests on BTC daily: ${Math.round(core.backtests_per_s_per_core)}/s per core (${Math.round(core.backtests_per_cpu_s)} per CPU-second; goal ≥ 20,000)`);

const env = await benchEnv("backtest");
const fleet = new Fleet({ redisUrl: env.redisUrl, prefix: env.prefix });
const workers = [1, 2].map(() =>
  spawn(process.execPath, ["--import", "tsx", resolve(import.meta.dirname, "../apps/worker/main.ts"), "--queues", "backtest", "--concurrency", "1"], {
    env: { ...process.env, REDIS_URL: env.redisUrl, DATABASE_URL: env.databaseUrl, QUEUE_PREFIX: env.prefix, LOG_LEVEL: "warn", LOG_PRETTY: "0", COMPUTE_THREADS: "1" },
    stdio: ["ignore", "inherit", "inherit"],
  }),
);
const exited = workers.map((w) => new Promise((r) => w.once("exit", r)));
try {
  // Both workers connected before the clock starts: the figure is the sweep, not process start-up.
  const queue = fleet.queue(backtestKind);
  for (let i = 0; (await queue.getWorkersCount()) < 2; i++) {
    if (i > 600) throw new Error("worker processes did not come up within 60 s");
    await new Promise((r) => setTimeout(r, 100));
  }
  const t0 = performance.now();
  const sweep = await enqueueSweep(fleet, { asset: "BTC-USD", strategy: "ema_cross", fast: [5, 104, 1], slow: [110, 209, 1], feeBps: 10, topN: 5, chunkSize: 500 });
  let result: BacktestResult | undefined;
  while (!result) {
    const root = await Job.fromId(queue, sweep.rootJobId);
    if (await root?.isCompleted()) result = root!.returnvalue as BacktestResult;
    else if (await root?.isFailed()) throw new Error(`sweep failed: ${root!.failedReason}`);
    else await new Promise((r) => setTimeout(r, 50));
  }
  const seconds = (performance.now() - t0) / 1000;
  console.log(`sweep of ${result.evaluated} combinations in ${sweep.chunks} jobs on 2 worker processes: ${seconds.toFixed(2)} s (goal ≤ 15 s)`);
  console.log(`top by Sharpe: ${result.best!.map((b) => `${b.fast}/${b.slow} ${b.sharpe.toFixed(3)}`).join(", ")}`);
  console.log(JSON.stringify({ bench: "backtest", backtests_per_s_per_core: Math.round(core.backtests_per_s_per_core), sweep_10k_s: Number(seconds.toFixed(2)) }));
} finally {
  for (const w of workers) w.kill("SIGTERM");
  await Promise.all(exited);
  await fleet.close();
  await env.close();
}
process.exit(0);
