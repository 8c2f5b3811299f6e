// `npm run stop`: stop a running `npm start` supervisor (gracefully) and the local servers under DATA_DIR.
import { rmSync } from "node:fs";
import { config } from "../config.ts";
import { stopStack } from "../embedded/stack.ts";
import { waitFor } from "../embedded/net.ts";
import { alive, readPid } from "../embedded/process.ts";
import { supervisorPidFile } from "./paths.ts";

const cfg = config();
const pidFile = supervisorPidFile(cfg);
const pid = readPid(pidFile);
if (pid !== undefined && alive(pid)) {
  process.kill(pid, "SIGTERM");
  await waitFor(async () => !alive(pid), cfg.WORKER_SHUTDOWN_MS + 20_000, `the fleet supervisor (pid ${pid}) to exit`).catch((err: Error) => {
    process.stderr.write(`${err.message}; killing it\n`);
    process.kill(-pid, "SIGKILL");
  });
  process.stdout.write(`stopped the fleet (supervisor pid ${pid})\n`);
}
rmSync(pidFile, { force: true });
const stopped = await stopStack(cfg.DATA_DIR);
process.stdout.write(stopped.length ? `stopped local ${stopped.join(" and ")}\n` : "no local servers were running\n");
