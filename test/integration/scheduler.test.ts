// Two scheduler processes registering the same table at once still yield exactly one job per tick.
import { afterEach, describe, expect, it } from "vitest";
import { Fleet } from "../../queues/fleet.ts";
import { maintenanceKind } from "../../queues/registry.ts";
import { registerSchedules } from "../../producers/register-schedules.ts";
import type { Schedule } from "../../producers/schedules.ts";
import { testFleet, type TestFleet } from "../helpers/fleet.ts";
import { redisUrl } from "../helpers/redis.ts";
import { poll } from "../helpers/wait.ts";

let tf: TestFleet | undefined;
const extra: Fleet[] = [];
afterEach(async () => {
  await Promise.all(extra.splice(0).map((f) => f.close()));
  await tf?.close();
});

describe("schedules", () => {
  it("concurrent registration is idempotent and each tick runs once", async () => {
    tf = testFleet("sched");
    const other = new Fleet({ redisUrl: redisUrl(), prefix: tf.prefix });
    extra.push(other);
    const table: Schedule[] = [{ id: "tick", pattern: "* * * * * *", tz: "UTC", payload: { task: "smoke", id: "tick", message: "tick" } }];
    const seen: string[] = [];
    await tf.worker(maintenanceKind, async (p, ctx) => {
      seen.push(ctx.job.id!);
      return { task: p.task };
    });
    const [a, b] = await Promise.all([registerSchedules(tf.fleet, table), registerSchedules(other, table)]);
    expect(a.upserted).toEqual(["tick"]);
    expect(b.upserted).toEqual(["tick"]);
    await registerSchedules(other, table); // a restart re-registers: still one scheduler
    expect(await tf.fleet.queue(maintenanceKind).getJobSchedulersCount()).toBe(1);
    await poll(() => seen.length >= 3 || undefined, "three ticks", 10_000);
    expect(new Set(seen).size).toBe(seen.length);
    const ticks = seen.map((id) => Number(id.split(":").at(-1)));
    expect(new Set(ticks.map((t) => Math.floor(t / 1000))).size).toBe(ticks.length);
  });

  it("removes schedulers that left the table", async () => {
    tf = testFleet("sched2");
    const t1: Schedule[] = [
      { id: "keep", pattern: "0 0 * * * *", tz: "UTC", payload: { task: "metrics-partitions", ahead: 3, retentionDays: 90 } },
      { id: "drop", pattern: "0 0 * * * *", tz: "UTC", payload: { task: "metrics-partitions", ahead: 3, retentionDays: 90 } },
    ];
    await registerSchedules(tf.fleet, t1);
    const r = await registerSchedules(tf.fleet, t1.slice(0, 1));
    expect(r.removed).toEqual(["drop"]);
    expect((await tf.fleet.queue(maintenanceKind).getJobSchedulers()).map((s) => s.key)).toEqual(["keep"]);
  });
});
