// The fleet's main job, shared by `npm start` (against the Procfile processes) and `npm run demo`
// (against in-process workers): migrate and load the sample data, then run the daily refresh of the
// sample assets (features → quality → signals → backtests) as of the last day they all have data for.
import type { Context } from "@opentelemetry/api";
import { createPool } from "../../db/pool.ts";
import { migrate } from "../../db/migrate.ts";
import { commonLastDay } from "../../db/repos/coverage.ts";
import { SAMPLE_DATA, loadSampleData } from "../../db/sample-data.ts";
import { Fleet } from "../../queues/fleet.ts";
import { dailyRefresh } from "../../queues/flows/daily-refresh.ts";
import { formatSummary, waitForRun } from "../../producers/progress.ts";
import type { RunSummary } from "../../queues/kinds/flow.ts";
import type { Config } from "../../ops/config.ts";
import type { Logger } from "../../ops/logger.ts";

export async function prepareDatabase(databaseUrl: string, log: Logger): Promise<string> {
  const pool = createPool(databaseUrl, { max: 2 });
  try {
    const { applied } = await migrate(pool, { log: (m) => log.info(m) });
    const loaded = await loadSampleData(pool);
    log.info({ migrations: applied.length, sample: loaded.map((l) => `${l.symbol} ${l.rows} bars (${l.written} new)`) }, "database ready");
    const asOf = await commonLastDay(pool, SAMPLE_DATA.map((s) => s.symbol));
    if (!asOf) throw new Error("the sample assets have no common data");
    return asOf;
  } finally {
    await pool.end();
  }
}

export interface MainJobOptions {
  redisUrl: string;
  cfg: Config;
  asOf: string;
  /** Run again (next rerun number) when the day's run exists already, instead of reporting it. */
  fresh?: boolean;
  /** Settles when the fleet goes away; waiting stops then. */
  abort?: Promise<unknown>;
  timeoutMs?: number;
  /** The trace the run continues (the caller's producer span). */
  parent?: Context;
}

/** Runs the daily refresh of the sample assets and resolves with its summary. */
export async function runMainJob(opts: MainJobOptions): Promise<{ summary: RunSummary; text: string }> {
  const fleet = new Fleet({ redisUrl: opts.redisUrl, prefix: opts.cfg.QUEUE_PREFIX, name: "ta-fleet:main-job" });
  try {
    const assets = SAMPLE_DATA.map((s) => s.symbol);
    const parent = opts.parent ? { parent: opts.parent } : {};
    let run = await dailyRefresh(fleet, assets, opts.asOf, parent);
    let rerun = 0;
    while (opts.fresh && !run.created && rerun < 999) run = await dailyRefresh(fleet, assets, opts.asOf, { rerun: ++rerun, ...parent });
    const key = { asOf: opts.asOf, ...(rerun ? { rerun } : {}) };
    const waiting = waitForRun(fleet, run.rootJobId, assets, key, { timeoutMs: opts.timeoutMs ?? 600_000 });
    const summary = await (opts.abort ? Promise.race([waiting, opts.abort.then(() => Promise.reject(new Error("the fleet stopped first")))]) : waiting);
    return { summary, text: formatSummary(summary) };
  } finally {
    await fleet.close();
  }
}
