// Write actions on jobs: retrying a failed job from the fleet overview's failure list. The rules are those
// of acknowledging an alert (api-ops.ts): refused with 403 when read-only, and only as JSON from this host.
import { Router } from "express";
import { READ_ONLY_KEY, type DashboardDeps } from "./deps.ts";
import { P, Q, parseParams } from "./params.ts";
import { sameOriginJson } from "./write-guard.ts";

export function actionsApi(d: DashboardDeps): Router {
  const r = Router();

  r.post("/jobs/:queue/:jobId/retry", async (req, res) => {
    parseParams(Q.none, req.query);
    const { queue, jobId } = parseParams(P.job, req.params);
    if (d.readOnly) return void res.status(403).json({ error: `read-only dashboard (${READ_ONLY_KEY}=true): retrying a job is a write action; set ${READ_ONLY_KEY}=false to allow it` });
    if (!sameOriginJson(req, res)) return;
    const q = d.fleet.allQueues().find((x) => x.name === queue);
    if (!q) return void res.status(404).json({ error: `no queue ${queue}` });
    const job = await q.getJob(jobId);
    if (!job) return void res.status(404).json({ error: `no job ${jobId} in queue ${queue}` });
    try {
      // Like bull-board's retry: the job goes back to waiting with the attempts it has already made.
      await job.retry("failed");
    } catch (err) {
      // BullMQ refuses a job that is not (or, after a concurrent retry, no longer) failed: say what it is.
      const state = await job.getState();
      if (state === "failed") throw err;
      return void res.status(409).json({ error: `job ${jobId} is ${state}, not failed: only a failed job can be retried`, state });
    }
    const by = `web:${String(res.locals.principal)}`;
    d.log?.info({ queue, jobId, by }, "failed job retried from the dashboard");
    res.json({ queue, jobId, state: await job.getState(), retriedBy: by });
  });

  return r;
}
