// The `scheduler` process: registers the schedule table, then serves health probes until stopped.
// BullMQ's job schedulers create the jobs; this process only keeps their definitions current.
import { bootstrap } from "../ops/bootstrap.ts";
import { startHealthServer } from "../ops/health.ts";
import { standardProbes } from "../ops/probes.ts";
import { Fleet } from "../queues/fleet.ts";
import { registerSchedules } from "./register-schedules.ts";
import { schedules } from "./schedules.ts";

const rt = await bootstrap("scheduler");
const fleet = new Fleet({ redisUrl: rt.redisUrl, prefix: rt.cfg.QUEUE_PREFIX, name: "ta-fleet:scheduler" });
rt.shutdown.add("fleet", () => fleet.close());
const result = await registerSchedules(fleet, schedules(rt.cfg));
rt.log.info(result, "schedules registered");
const healthPort = rt.cfg.HEALTH_PORT ?? rt.cfg.PORT;
if (healthPort) {
  const { probes, close } = standardProbes(rt);
  const health = await startHealthServer(healthPort, rt.cfg.WEB_HOST, probes);
  rt.shutdown.add("health", () => Promise.all([health.close(), close()]));
} else {
  // Nothing else keeps the event loop alive; a supervisor expects the process to stay up.
  const keepAlive = setInterval(() => {}, 1 << 30);
  rt.shutdown.add("keep-alive", async () => clearInterval(keepAlive));
}
