// One fleet per data directory. The lock is <DATA_DIR>/fleet.pid, created atomically ("wx") with the
// supervisor's pid, so two `npm start` on one directory cannot both win; <DATA_DIR>/fleet.json says
// which processes the supervisor runs, rewritten atomically on every (re)start.
import { closeSync, mkdirSync, openSync, renameSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { resolve } from "node:path";
import { readPid } from "../embedded/process.ts";
import { cmdline, fleetId, fleetProcesses, running } from "./procs.ts";

/** Another fleet (or what is left of one) runs on the data directory: exit 1, say how to stop it. */
export class FleetRunningError extends Error {
  override name = "FleetRunningError";
}

export interface ChildState {
  type: string;
  n: number;
  pid: number;
  port?: number;
  startedAt: string;
}

export const lockFile = (dataDir: string) => resolve(dataDir, "fleet.pid");
export const stateFile = (dataDir: string) => resolve(dataDir, "fleet.json");

/** The command that stops the fleet of `dataDir`, as an operator would type it in the project root. */
export function stopCommand(dataDir: string): string {
  // ".data" is DATA_DIR's default (ops/config.ts).
  return resolve(dataDir) === resolve(".data") ? "npm run stop" : `DATA_DIR=${resolve(dataDir)} npm run stop`;
}

/** The pid in the lock when it is a live `program` (a dead or reused pid means a stale lock). */
export function supervisorPid(dataDir: string, program: string): number | undefined {
  const pid = readPid(lockFile(dataDir));
  return pid !== undefined && running(pid) && cmdline(pid).includes(program) ? pid : undefined;
}

export class FleetLock {
  private held = true;
  private readonly releaseOnExit = () => this.release();

  private constructor(readonly dataDir: string) {
    // Whatever path ends the process (a setup error exits from deep inside), the lock goes with it.
    process.once("exit", this.releaseOnExit);
  }

  /** Takes the lock for this process, taking over a stale one; throws FleetRunningError otherwise. */
  static acquire(dataDir: string, program: string): FleetLock {
    const dir = resolve(dataDir);
    mkdirSync(dir, { recursive: true });
    const file = lockFile(dir);
    for (let attempt = 0; ; attempt++) {
      try {
        const fd = openSync(file, "wx");
        try {
          writeSync(fd, `${process.pid}\n`);
        } finally {
          closeSync(fd);
        }
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw new Error(`cannot take the fleet lock ${file}`, { cause: err });
        const pid = supervisorPid(dir, program);
        if (pid !== undefined) throw new FleetRunningError(`a fleet is already running on ${dir} (pid ${pid}); stop it with: ${stopCommand(dir)}`);
        if (attempt > 0) throw new Error(`cannot take the fleet lock ${file}: it keeps reappearing without a live supervisor`, { cause: err });
        // Stale: its supervisor was killed before it could remove it.
        rmSync(file, { force: true });
      }
    }
    const lock = new FleetLock(dir);
    const leftovers = fleetProcesses(fleetId(dir));
    if (leftovers.length) {
      lock.release();
      const which = leftovers.map((p) => `${p.pid} ${p.name}`).join(", ");
      throw new FleetRunningError(`processes of an earlier fleet on ${dir} are still running (${which}); stop them with: ${stopCommand(dir)}`);
    }
    return lock;
  }

  writeState(children: ChildState[]): void {
    if (!this.held) return;
    const file = stateFile(this.dataDir);
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, `${JSON.stringify({ supervisor: process.pid, dataDir: this.dataDir, updatedAt: new Date().toISOString(), children }, null, 2)}\n`);
    renameSync(tmp, file);
  }

  release(): void {
    if (!this.held) return;
    this.held = false;
    process.removeListener("exit", this.releaseOnExit);
    rmSync(stateFile(this.dataDir), { force: true });
    // Only our own lock: a stale-lock takeover may have replaced it meanwhile.
    if (readPid(lockFile(this.dataDir)) === process.pid) rmSync(lockFile(this.dataDir), { force: true });
  }
}
