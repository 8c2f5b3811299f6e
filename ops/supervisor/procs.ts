// Finding a fleet's processes by what the kernel records about them (the environment they were started
// with), so a fleet can be stopped without its supervisor, pid file or state file.
import { readdirSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { alive } from "../embedded/process.ts";

/** Set in every fleet process: the absolute DATA_DIR of the fleet it belongs to. */
export const FLEET_ID_ENV = "TA_FLEET_ID";
/** Set in every fleet process: the supervisor's pid, which the process watches (ops/supervised.ts). */
export const SUPERVISOR_PID_ENV = "TA_FLEET_SUPERVISOR_PID";
/** Set in every fleet process: its Procfile instance (`worker.2`, `release`), which its log lines name. */
export const FLEET_PROCESS_ENV = "FLEET_PROCESS";

export const fleetId = (dataDir: string) => resolve(dataDir);

/** Alive and not a zombie: an orphan's zombie lingers until its new parent reaps it, yet is gone. */
export function running(pid: number): boolean {
  if (!alive(pid)) return false;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    // Exited between the two checks.
    return false;
  }
}

export function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ").trim();
  } catch {
    // Gone, or not ours to read: no command line to match.
    return "";
  }
}

/** Processes (other than this one) started with `TA_FLEET_ID=<id>`, named by their FLEET_PROCESS. */
export function fleetProcesses(id: string): Array<{ pid: number; name: string }> {
  const needle = `${FLEET_ID_ENV}=${id}`;
  const found: Array<{ pid: number; name: string }> = [];
  for (const entry of readdirSync("/proc")) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      const env = readFileSync(`/proc/${pid}/environ`, "utf8").split("\0");
      if (!env.includes(needle) || !running(pid)) continue;
      const name = env.find((e) => e.startsWith(`${FLEET_PROCESS_ENV}=`))?.slice(FLEET_PROCESS_ENV.length + 1);
      found.push({ pid, name: name ? `${name} (${cmdline(pid).slice(0, 60)})` : cmdline(pid).slice(0, 80) });
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return found;
}

/** SIGTERM, up to `graceMs` to exit, then SIGKILL; resolves with the pids that had to be killed. */
export async function terminate(pids: number[], graceMs: number): Promise<number[]> {
  for (const pid of pids) signal(pid, "SIGTERM");
  const left = await waitGone(pids, graceMs);
  for (const pid of left) signal(pid, "SIGKILL");
  await waitGone(left, 5_000);
  return left;
}

/** Waits until none of `pids` runs or `ms` passes; resolves with those still running. */
export async function waitGone(pids: number[], ms: number): Promise<number[]> {
  const deadline = Date.now() + ms;
  let left = pids.filter(running);
  while (left.length && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    left = left.filter(running);
  }
  return left;
}

/** process.kill that treats "already gone" as done. */
export function signal(target: number, sig: NodeJS.Signals): void {
  try {
    process.kill(target, sig);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ESRCH") throw err;
  }
}
