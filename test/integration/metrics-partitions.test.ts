// Housekeeping of observability.metrics: the scheduled maintenance task creates monthly partitions ahead
// and drops those past retention, idempotently — run through a real worker, as the scheduler runs it.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseConfig } from "../../ops/config.ts";
import { enqueue } from "../../queues/enqueue.ts";
import { maintenanceKind } from "../../queues/registry.ts";
import { schedules } from "../../producers/schedules.ts";
import type { ComputePool } from "../../workers/threads/pool.ts";
import { maintenanceProcessor } from "../../workers/maintenance/index.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/db.ts";
import { testFleet, type TestFleet } from "../helpers/fleet.ts";
import { poll } from "../helpers/wait.ts";

let db: TestDatabase;
let tf: TestFleet;

beforeAll(async () => {
  db = await createTestDatabase();
  tf = testFleet("parts");
  const cfg = parseConfig({});
  // metrics-partitions needs only the database; the compute pool is never touched.
  const deps = { pool: db.pool, fleet: tf.fleet, cfg, log: tf.log.log, compute: {} as ComputePool };
  await tf.worker(maintenanceKind, maintenanceProcessor(deps));
});
afterAll(async () => {
  await tf?.close();
  await db?.drop();
});

const partitions = async () =>
  (
    await db.pool.query<{ name: string }>(
      `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
       JOIN pg_namespace n ON n.oid = p.relnamespace WHERE n.nspname = 'observability' AND p.relname = 'metrics' ORDER BY 1`,
    )
  ).rows.map((r) => r.name);

/** metrics_YYYY_MM of the month `offset` months from the database's current month. */
const month = async (offset: number) =>
  (await db.pool.query<{ m: string }>("SELECT 'metrics_' || to_char(date_trunc('month', now()) + make_interval(months => $1), 'YYYY_MM') AS m", [offset])).rows[0]!.m;

async function runTask(ahead: number, retentionDays: number) {
  const job = await enqueue(tf.fleet, maintenanceKind, { task: "metrics-partitions", ahead, retentionDays });
  return poll(async () => (await tf.fleet.queue(maintenanceKind).getJob(job.id!))?.returnvalue as { created: number; dropped: number } | undefined, "the partitions task");
}

describe("metrics partitions", () => {
  it("is on the schedule table, daily", () => {
    const s = schedules(parseConfig({})).find((x) => x.id === "metrics-partitions");
    expect(s?.payload).toMatchObject({ task: "metrics-partitions" });
    expect(s?.pattern.split(" ")).toHaveLength(6);
  });

  it("creates partitions ahead, drops those past retention, keeps the rest, and is idempotent", async () => {
    // History the fleet would have written in earlier months (set up here only to have something to drop).
    const old = await month(-6);
    const recent = await month(-1);
    await db.pool.query(`DO $$
      DECLARE m date;
      BEGIN
        FOREACH m IN ARRAY ARRAY[date_trunc('month', now() - interval '6 months'), date_trunc('month', now() - interval '1 month')]::date[] LOOP
          EXECUTE format('CREATE TABLE observability.%I PARTITION OF observability.metrics FOR VALUES FROM (%L) TO (%L)',
                         'metrics_' || to_char(m, 'YYYY_MM'), m, m + interval '1 month');
        END LOOP;
      END $$`);
    expect(await partitions()).toEqual(expect.arrayContaining([old, recent]));
    const ahead = await Promise.all([0, 1, 2, 3, 4].map(month));
    expect(await partitions()).not.toContain(ahead[4]);

    // The migration made the current month and two ahead; four ahead means two more.
    expect(await runTask(4, 90)).toEqual({ task: "metrics-partitions", created: 2, dropped: 1 });
    const after = await partitions();
    for (const m of ahead) expect(after).toContain(m);
    expect(after).toContain(recent);
    expect(after).not.toContain(old);
    // A row for four months ahead has a home: nobody creates partitions by hand.
    await db.pool.query("INSERT INTO observability.metrics (recorded_at, metric_name, metric_type, value) VALUES (date_trunc('month', now()) + interval '4 months', 'x', 'gauge', 1)");

    expect(await runTask(4, 90)).toMatchObject({ created: 0, dropped: 0 });
    expect(await partitions()).toEqual(after);
  });
});
