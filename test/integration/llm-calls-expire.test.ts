// Ledger rows a dead process left `pending` whose job never ran again: the hourly maintenance task marks
// them `interrupted` (cost unknown, never guessed) once they are older than any call can last — run through
// a real worker, as the scheduler runs it — and leaves calls that may still be in flight alone.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startCall } from "../../db/repos/llm-ledger.ts";
import { parseConfig } from "../../ops/config.ts";
import { schedules } from "../../producers/schedules.ts";
import { enqueue } from "../../queues/enqueue.ts";
import { maintenanceKind } from "../../queues/registry.ts";
import type { ComputePool } from "../../workers/threads/pool.ts";
import { maintenanceProcessor } from "../../workers/maintenance/index.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/db.ts";
import { testFleet, type TestFleet } from "../helpers/fleet.ts";
import { poll } from "../helpers/wait.ts";

let db: TestDatabase;
let tf: TestFleet;

beforeAll(async () => {
  db = await createTestDatabase();
  tf = testFleet("llmexp");
  // The task needs only the database; the compute pool is never touched.
  await tf.worker(maintenanceKind, maintenanceProcessor({ pool: db.pool, fleet: tf.fleet, cfg: parseConfig({}), log: tf.log.log, compute: {} as ComputePool }));
});
afterAll(async () => {
  await tf?.close();
  await db?.drop();
});

async function call(taskId: string, minutesAgo: number, status?: "ok") {
  await startCall(db.pool, { taskId, callAttempt: "gemini.1", provider: "gemini", model: "gemini-2.5-flash", tier: "free", attempt: 1 });
  await db.pool.query("UPDATE llm_calls SET started_at = now() - make_interval(mins => $2), status = coalesce($3, status) WHERE task_id = $1", [taskId, minutesAgo, status ?? null]);
}

const statuses = async () => Object.fromEntries((await db.pool.query<{ task_id: string; status: string }>("SELECT task_id, status FROM llm_calls")).rows.map((r) => [r.task_id, r.status]));

describe("llm-calls-expire", () => {
  it("is on the schedule table, hourly", () => {
    expect(schedules(parseConfig({})).find((s) => s.id === "llm-calls-expire")).toMatchObject({ pattern: "0 20 * * * *", payload: { task: "llm-calls-expire", olderThanMinutes: 60 } });
  });

  it("interrupts only pending calls older than the limit", async () => {
    await call("dead", 120);
    await call("in-flight", 5);
    await call("finished", 120, "ok");
    const job = await enqueue(tf.fleet, maintenanceKind, { task: "llm-calls-expire", olderThanMinutes: 60 });
    const result = await poll(async () => (await tf.fleet.queue(maintenanceKind).getJob(job.id!))?.returnvalue as { interrupted: number } | undefined, "the expire task");
    expect(result).toEqual({ task: "llm-calls-expire", interrupted: 1 });
    expect(await statuses()).toEqual({ dead: "interrupted", "in-flight": "pending", finished: "ok" });
    const again = await enqueue(tf.fleet, maintenanceKind, { task: "llm-calls-expire" }, { jobId: "expire-again" });
    expect(await poll(async () => (await tf.fleet.queue(maintenanceKind).getJob(again.id!))?.returnvalue, "the second run")).toEqual({ task: "llm-calls-expire", interrupted: 0 });
  });

  it("refuses a limit shorter than a call can last, naming the field", async () => {
    await expect(enqueue(tf.fleet, maintenanceKind, { task: "llm-calls-expire", olderThanMinutes: 1 })).rejects.toThrow(/olderThanMinutes/);
  });
});
