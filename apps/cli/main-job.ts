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
import { describeExisting, findRun, hasOutcome, isFinished, nextFreeRerun } from "../../producers/runs.ts";
import type { RunSummary } from "../../queues/kinds/flow.ts";
import type { Config, RedisTopology } from "../../ops/config.ts";
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
  redisUrl: RedisTopology;
  /** The workflow table: runs whose jobs have left Redis, and rerun numbers they used. Unset: Redis alone. */
  databaseUrl?: string;
  cfg: Config;
  asOf: string;
  /** Run the day again under the lowest free rerun number (`npm run demo -- --rerun`), even when it ran already. */
  rerun?: boolean;
  /** Settles when the fleet goes away; waiting stops then. */
  abort?: Promise<unknown>;
  timeoutMs?: number;
  /** The trace the run continues (the caller's producer span). */
  parent?: Context;
}

/** How to ask for a fresh run instead of the day's existing one. */
const FRESH_RUN_HINT = "`npm run demo -- --rerun` for a fresh run";

/**
 * Runs the daily refresh of the sample assets and resolves with its summary. Deterministic on a day that
 * already ran: its existing run's result is shown (waited for if still under way), with a first line saying
 * so; a fresh run happens only when asked (`rerun`), or when the existing run cannot be shown (another run
 * of the day holds one of the assets, or only a record of the run is left and it never finished). A fresh
 * run takes the lowest free rerun number, named in the first line.
 */
export async function runMainJob(opts: MainJobOptions): Promise<{ summary: RunSummary; text: string }> {
  const fleet = new Fleet({ redisUrl: opts.redisUrl, prefix: opts.cfg.QUEUE_PREFIX, name: "ta-fleet:main-job" });
  const db = opts.databaseUrl ? createPool(opts.databaseUrl, { max: 1, applicationName: "ta-fleet:main-job" }) : undefined;
  const { asOf } = opts;
  const assets = SAMPLE_DATA.map((s) => s.symbol);
  const outcome = async (rootJobId: string, rerun: number | undefined) => {
    const waiting = waitForRun(fleet, rootJobId, assets, { asOf, ...(rerun ? { rerun } : {}) }, { timeoutMs: opts.timeoutMs ?? 600_000 });
    return opts.abort ? Promise.race([waiting, opts.abort.then(() => Promise.reject(new Error("the fleet stopped first")))]) : waiting;
  };
  try {
    const found = opts.rerun ? undefined : await findRun(fleet, db, assets, asOf);
    const existing = found?.existing;
    if (existing && hasOutcome(existing)) {
      const note = `${describeExisting(existing, asOf)}; ${isFinished(existing) ? "showing its result" : "waiting for it"} — ${FRESH_RUN_HINT}`;
      // A run root that failed has no summary: its failure is the result, still said to be the existing run's.
      const summary =
        existing.summary ??
        (await outcome(existing.rootJobId, undefined).catch((err: Error) => {
          throw new Error(`${describeExisting(existing, asOf)}: ${err.message} — ${FRESH_RUN_HINT}`);
        }));
      return { summary, text: `${note}\n${formatSummary(summary)}` };
    }
    // Why a fresh rerun: asked for, or the day's first run cannot be shown nor added.
    const why = opts.rerun
      ? `${asOf} again, as asked (--rerun)`
      : found?.taken
        ? `${asOf}: ${found.taken.asset} is already in run ${found.taken.runId} (another asset set)`
        : existing && describeExisting(existing, asOf);
    const rerun = why ? await nextFreeRerun(fleet, db, assets, asOf) : undefined;
    const run = await dailyRefresh(fleet, assets, asOf, { ...(rerun ? { rerun } : {}), ...(opts.parent ? { parent: opts.parent } : {}) });
    const summary = await outcome(run.rootJobId, rerun);
    const note = why ? `${why}; fresh run: rerun ${rerun} (run ${run.runId}), the lowest free rerun number\n` : "";
    return { summary, text: `${note}${formatSummary(summary)}` };
  } finally {
    await db?.end();
    await fleet.close();
  }
}
