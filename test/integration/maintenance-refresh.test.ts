// The scheduled daily refresh names its assets in config: one that is not in the assets table fails the
// trigger job once, naming it, before any flow is enqueued (like the CLI refuses it).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseConfig } from "../../ops/config.ts";
import { enqueue } from "../../queues/enqueue.ts";
import { flowKind, maintenanceKind, stageKind } from "../../queues/registry.ts";
import type { ComputePool } from "../../workers/threads/pool.ts";
import { maintenanceProcessor } from "../../workers/maintenance/index.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/db.ts";
import { testFleet, type TestFleet } from "../helpers/fleet.ts";
import { poll } from "../helpers/wait.ts";

let db: TestDatabase;
let tf: TestFleet;

beforeAll(async () => {
  db = await createTestDatabase();
  tf = testFleet("sched-assets");
  // The refusal happens before the flow is built: the compute pool is never touched.
  const deps = { pool: db.pool, fleet: tf.fleet, cfg: parseConfig({}), log: tf.log.log, compute: {} as ComputePool };
  await tf.worker(maintenanceKind, maintenanceProcessor(deps));
});
afterAll(async () => {
  await tf?.close();
  await db?.drop();
});

describe("scheduled daily refresh", () => {
  it("refuses an unknown asset without retry and enqueues nothing", async () => {
    const job = await enqueue(tf.fleet, maintenanceKind, { task: "daily-refresh", assets: ["NOPE"], asOf: "2022-11-15" });
    const q = tf.fleet.queue(maintenanceKind);
    const failed = await poll(async () => ((await q.getJobState(job.id!)) === "failed" ? q.getJob(job.id!) : undefined), "the trigger job to fail");
    expect(failed!.failedReason).toBe(
      'assets: unknown symbol "NOPE" (no asset is known yet; import prices first: npm run import -- <file.csv> --symbol X --session CRYPTO|EQUITY)',
    );
    expect(failed!.attemptsMade).toBe(1);
    for (const kind of [flowKind, stageKind]) expect(await tf.fleet.queue(kind).getJobCountByTypes("waiting", "waiting-children", "delayed", "active", "completed", "failed")).toBe(0);
  });
});
