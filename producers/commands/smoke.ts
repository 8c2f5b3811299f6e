import { enqueue } from "../../queues/enqueue.ts";
import { maintenanceKind } from "../../queues/registry.ts";
import { waitForJob } from "../progress.ts";
import { positiveSeconds, type Command } from "./command.ts";

export const smokeCommand: Command = {
  name: "smoke",
  summary: "One maintenance job that writes a row to PostgreSQL (proves producer → Redis → worker → DB).",
  help: `      --id ID            Job id suffix (default: a timestamp)
      --message TEXT     Stored with the row
      --wait             Wait for the job to finish
      --timeout S        With --wait: give up after S seconds (default 60)`,
  options: { id: { type: "string" }, message: { type: "string" }, wait: { type: "boolean", default: false }, timeout: { type: "string" } },
  prepare(values) {
    const payload = { task: "smoke" as const, id: (values.id as string | undefined) ?? `cli-${Date.now()}`, message: (values.message as string | undefined) ?? "hello from the CLI" };
    const timeoutS = positiveSeconds("--timeout", values.timeout, 60);
    return async (ctx) => {
      const fleet = await ctx.fleet();
      const job = await enqueue(fleet, maintenanceKind, payload, {}, await ctx.trace());
      ctx.out.write(`enqueued smoke job ${job.id}\n`);
      if (!values.wait) return 0;
      const { state, job: done } = await waitForJob(fleet.queue(maintenanceKind), job.id!, `smoke job ${job.id}`, { timeoutMs: timeoutS * 1000, intervalMs: 50, signal: ctx.signal });
      if (state === "failed") throw new Error(`smoke job ${job.id} failed: ${done.failedReason}`);
      ctx.out.write(`completed: ${JSON.stringify(done.returnvalue)}\n`);
      return 0;
    };
  },
};
