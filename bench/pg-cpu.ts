// PostgreSQL server CPU, read from /proc: the postmaster and every process it forked (backends, WAL writer,
// checkpointer, autovacuum…), so the cost of a write includes what it makes the background processes do.
// Backends that exit in between are not lost: the postmaster reaps them, so their time lands in its
// cutime/cstime. Needs the server on this machine (the embedded dev servers are); the whole server is
// measured, so anything else it serves meanwhile counts too — interleave rounds and take medians.
import { readFileSync, readdirSync } from "node:fs";
import type { Pool } from "../db/pool.ts";

// Linux reports CPU time in clock ticks; USER_HZ is 100 on every mainstream architecture.
export const TICKS_PER_SECOND = 100;

/** Fields of /proc/<pid>/stat after the command name (which may contain spaces and parentheses). */
export function statFields(pid: number): string[] | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, "utf8");
    return s.slice(s.lastIndexOf(")") + 2).split(" ");
  } catch {
    // The process exited between listing and reading: its time is in the postmaster's cutime now.
    return undefined;
  }
}

// After the command name: [0] state, [1] ppid, [11] utime, [12] stime, [13] cutime, [14] cstime.
const ppid = (f: string[]) => Number(f[1]);
const own = (f: string[]) => Number(f[11]) + Number(f[12]);
const reaped = (f: string[]) => Number(f[13]) + Number(f[14]);

function serverTicks(postmaster: number): number {
  const pm = statFields(postmaster);
  if (!pm) throw new Error(`postmaster ${postmaster} is gone`);
  let ticks = own(pm) + reaped(pm);
  for (const entry of readdirSync("/proc")) {
    const pid = Number(entry);
    if (!pid || pid === postmaster) continue;
    const f = statFields(pid);
    if (f && ppid(f) === postmaster) ticks += own(f);
  }
  return ticks;
}

/** The postmaster's pid: the parent of the backend serving this pool. */
export async function postmasterPid(pool: Pool): Promise<number> {
  const { rows } = await pool.query<{ pid: number }>("SELECT pg_backend_pid() AS pid");
  const f = statFields(rows[0]!.pid);
  if (!f) throw new Error("the PostgreSQL backend is not visible in /proc: the server must run on this machine");
  return ppid(f);
}

/** Starts a measurement; the returned function gives the server's CPU seconds since then. */
export async function pgCpuSampler(pool: Pool): Promise<() => Promise<number>> {
  const pm = await postmasterPid(pool);
  const t0 = serverTicks(pm);
  return async () => (serverTicks(pm) - t0) / TICKS_PER_SECOND;
}
