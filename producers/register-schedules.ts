import { parsePayload } from "../queues/kind.ts";
import type { Fleet } from "../queues/fleet.ts";
import { withTrace } from "../queues/trace-context.ts";
import { maintenanceKind } from "../queues/registry.ts";
import type { Schedule } from "./schedules.ts";

/** Upserts every schedule and removes schedulers that are no longer in the table. */
export async function registerSchedules(fleet: Fleet, table: Schedule[]): Promise<{ upserted: string[]; removed: string[] }> {
  const queue = fleet.queue(maintenanceKind);
  for (const s of table) {
    const data = parsePayload(maintenanceKind, s.payload);
    await queue.upsertJobScheduler(s.id, { pattern: s.pattern, tz: s.tz }, { name: maintenanceKind.jobName(data), data: withTrace(data), opts: {} });
  }
  const wanted = new Set(table.map((s) => s.id));
  const removed: string[] = [];
  for (const existing of await queue.getJobSchedulers(0, -1)) {
    const id = existing.key;
    if (!wanted.has(id)) {
      await queue.removeJobScheduler(id);
      removed.push(id);
    }
  }
  return { upserted: table.map((s) => s.id), removed };
}
