// `npm run stop`: stops the fleet of DATA_DIR — through its supervisor when that is alive, and in any case
// every process still carrying the fleet's id (a supervisor killed with -9 leaves its processes behind,
// and its lock file with them) — then the local servers under DATA_DIR.
import { rmSync } from "node:fs";
import { config } from "../../ops/config.ts";
import { stopStack } from "../../ops/embedded/stack.ts";
import { fleetId, fleetProcesses, terminate } from "../../ops/supervisor/procs.ts";
import { lockFile, stateFile, supervisorPid } from "../../ops/supervisor/state.ts";
import { START_SCRIPT } from "./paths.ts";
import { commandLine } from "../command-line.ts";

commandLine(
  "stop",
  `Usage: npm run stop

Stops the fleet of DATA_DIR that \`npm start\` runs — through its supervisor, and any of its processes left
without one — then the embedded Redis and PostgreSQL under DATA_DIR; prints what it stopped.
`,
);
const cfg = config();
const id = fleetId(cfg.DATA_DIR);
const say = (line: string) => process.stdout.write(`${line}\n`);
const graceMs = cfg.WORKER_SHUTDOWN_MS + 15_000;

const supervisor = supervisorPid(id, START_SCRIPT);
if (supervisor !== undefined) {
  // Its own stop is bounded by graceMs for the processes, then the local servers: allow for both.
  const killed = await terminate([supervisor], graceMs + 30_000);
  say(killed.length ? `the fleet supervisor (pid ${supervisor}) did not stop in time: killed it` : `stopped the fleet supervisor (pid ${supervisor}) and its processes`);
}
const orphans = fleetProcesses(id);
if (orphans.length) {
  const killed = await terminate(orphans.map((p) => p.pid), graceMs);
  say(`stopped ${orphans.length} fleet process(es) running without a supervisor: ${orphans.map((p) => `pid ${p.pid} ${p.name}`).join(", ")}`);
  if (killed.length) say(`killed pid(s) ${killed.join(", ")}: still running after ${graceMs} ms`);
}
if (supervisor === undefined && !orphans.length) say(`no fleet was running on ${id}`);
rmSync(lockFile(id), { force: true });
rmSync(stateFile(id), { force: true });
const stopped = await stopStack(cfg.DATA_DIR);
say(stopped.length ? `stopped local ${stopped.join(" and ")}` : "no local servers were running");
