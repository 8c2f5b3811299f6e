// A fleet process started by ops/supervisor outlives its supervisor only by accident (kill -9, OOM): it
// then shuts down gracefully by itself instead of running on, orphaned, against servers that are stopped.
import { alive } from "./embedded/process.ts";
import type { Logger } from "./logger.ts";
import { SUPERVISOR_PID_ENV } from "./supervisor/procs.ts";

export function exitWithSupervisor(shutdown: { shutdown(reason: string): Promise<void> }, log: Logger): void {
  const supervisor = Number(process.env[SUPERVISOR_PID_ENV]);
  if (!Number.isInteger(supervisor) || supervisor <= 0) return;
  // Procfile processes are the supervisor's children, and a new parent pid is the reliable sign of its
  // death; a command with a shell in between (the release phase's npm) can only check that it is alive.
  const direct = process.ppid === supervisor;
  const timer = setInterval(() => {
    if (direct ? process.ppid === supervisor : alive(supervisor)) return;
    clearInterval(timer);
    log.warn({ supervisor }, "the fleet supervisor is gone: shutting down");
    void shutdown.shutdown("supervisor gone");
  }, 1_000).unref();
}
