// Is the process behind a pid file alive, and is it the program we expect?
import { existsSync, readFileSync } from "node:fs";

export function readPid(pidFile: string): number | undefined {
  if (!existsSync(pidFile)) return undefined;
  const pid = Number.parseInt(readFileSync(pidFile, "utf8").split("\n")[0] ?? "", 10);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** The live pid recorded in `pidFile` if its command line mentions `program`. */
export function livePid(pidFile: string, program: string): number | undefined {
  const pid = readPid(pidFile);
  if (pid === undefined || !alive(pid)) return undefined;
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8");
    return cmdline.includes(program) ? pid : undefined;
  } catch {
    // No /proc to read (not Linux): trust the pid file.
    return pid;
  }
}
