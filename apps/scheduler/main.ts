// The `scheduler` process: registers the schedule table, samples every queue's depth and the LLM quota use
// into the metrics table, and serves health probes until stopped. BullMQ's job schedulers create the jobs;
// this process only keeps their definitions current.
import { bootstrap } from "../bootstrap.ts";
import { startQueueDepthSampler } from "../../queues/queue-depth.ts";
import { startObservability } from "../observability.ts";
import { startHealthServer } from "../../ops/health.ts";
import { standardProbes } from "../probes.ts";
import { Fleet } from "../../queues/fleet.ts";
import { llmQuotaFromConfig, quotaKey } from "../../queues/llm-quota.ts";
import { registerSchedules } from "../../producers/register-schedules.ts";
import { schedules } from "../../producers/schedules.ts";
import { commandLine } from "../command-line.ts";

commandLine(
  "scheduler",
  `Usage: node --import tsx apps/scheduler/main.ts

The Procfile's \`scheduler\`: keeps the schedule table (producers/schedules.ts) registered, samples queue depths
and LLM quota use every 15 s, and serves health probes on HEALTH_PORT (else PORT) until SIGINT/SIGTERM.
`,
);
const rt = await bootstrap("scheduler");
const obs = startObservability({ service: "scheduler", cfg: rt.cfg, log: rt.log, databaseUrl: rt.databaseUrl, redisUrl: rt.redisUrl, deps: rt.deps });
rt.shutdown.add("observability", () => obs.close());
const fleet = new Fleet({ redisUrl: rt.redisUrl, prefix: rt.cfg.QUEUE_PREFIX, name: "ta-fleet:scheduler", onError: (err) => rt.deps.report(err, "redis:fleet") });
rt.shutdown.add("fleet", () => fleet.close());
const quota = llmQuotaFromConfig(rt.cfg, fleet, obs.pool, rt.log);
const sampler = startQueueDepthSampler({
  queues: fleet.allQueues(),
  metrics: obs.metrics,
  quota: { store: quota.store, keys: quota.providers.map(quotaKey) },
  onError: (err) => rt.deps.report(err, "queue depth sample"),
});
rt.shutdown.add("queue-depth", () => sampler.close());
const result = await registerSchedules(fleet, schedules(rt.cfg));
rt.log.info(result, "schedules registered");
const healthPort = rt.cfg.HEALTH_PORT ?? rt.cfg.PORT;
if (healthPort) {
  const health = await startHealthServer(healthPort, rt.cfg.WEB_HOST, standardProbes(rt));
  rt.shutdown.add("health", () => health.close());
} else {
  // Nothing else keeps the event loop alive; a supervisor expects the process to stay up.
  const keepAlive = setInterval(() => {
    // Only holds the event loop open; the interval has nothing to do.
  }, 1 << 30);
  rt.shutdown.add("keep-alive", async () => clearInterval(keepAlive));
}
