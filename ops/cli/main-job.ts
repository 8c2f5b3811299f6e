// The fleet's main job, shared by `npm start` (against the Procfile processes) and `npm run demo`
// (against in-process workers): prepare the database, then run the main flow to its end.
import { createPool } from "../../db/pool.ts";
import { migrate } from "../../db/migrate.ts";
import { enqueue } from "../../queues/enqueue.ts";
import { Fleet } from "../../queues/fleet.ts";
import { maintenanceKind } from "../../queues/registry.ts";
import type { Config } from "../config.ts";
import type { Logger } from "../logger.ts";
import { QueueEvents } from "bullmq";

export async function prepareDatabase(databaseUrl: string, log: Logger): Promise<void> {
  const pool = createPool(databaseUrl, { max: 2 });
  try {
    const { applied } = await migrate(pool, { log: (m) => log.info(m) });
    log.info({ applied: applied.length }, "database migrated");
  } finally {
    await pool.end();
  }
}

export interface MainJobOptions {
  redisUrl: string;
  cfg: Config;
  log: Logger;
  /** Settles when the fleet goes away; waiting stops then. */
  abort?: Promise<unknown>;
  timeoutMs?: number;
}

/** Runs the main job and resolves with a printable summary (rejects with the reason on failure). */
export async function runMainJob(opts: MainJobOptions): Promise<string> {
  const fleet = new Fleet({ redisUrl: opts.redisUrl, prefix: opts.cfg.QUEUE_PREFIX, name: "ta-fleet:main-job" });
  const events = new QueueEvents(maintenanceKind.name, { connection: { url: opts.redisUrl }, prefix: opts.cfg.QUEUE_PREFIX });
  events.on("error", () => {});
  try {
    await events.waitUntilReady();
    const job = await enqueue(fleet, maintenanceKind, { task: "smoke", id: `start-${Date.now()}`, message: "producer → Redis → worker → PostgreSQL" });
    const finished = job.waitUntilFinished(events, opts.timeoutMs ?? 120_000);
    const result = await (opts.abort ? Promise.race([finished, opts.abort.then(() => Promise.reject(new Error("the fleet stopped first")))]) : finished);
    return `smoke job ${job.id} completed: ${JSON.stringify(result)}`;
  } finally {
    await events.close().catch(() => {});
    await fleet.close();
  }
}
