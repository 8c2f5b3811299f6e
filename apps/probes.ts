// The standard checks behind /health/* for any process with Redis and PostgreSQL.
import type { Worker } from "bullmq";
import { migrationStatus } from "../db/migrate.ts";
import type { Runtime } from "./bootstrap.ts";
import type { Check, ProbeChecks } from "../ops/health.ts";
import type { DependencyProbe } from "../ops/outage.ts";

// Readiness asks the same questions as the dependency monitor, on the same connections.
const asCheck = (probe: DependencyProbe | undefined): Check => async () => {
  if (!probe) return { ok: false, message: "no probe" };
  await probe();
  return { ok: true };
};

export function standardProbes(rt: Pick<Runtime, "pool" | "deps">, opts: { workers?: Worker[] } = {}): ProbeChecks {
  const readiness: ProbeChecks["readiness"] = {
    redis: asCheck(rt.deps.probes.redis),
    postgres: asCheck(rt.deps.probes.postgres),
  };
  if (opts.workers) {
    readiness.workers = async () => {
      const idle = opts.workers!.filter((w) => !w.isRunning() || w.isPaused()).map((w) => w.name);
      return idle.length ? { ok: false, message: `not running or paused: ${idle.join(", ")}` } : { ok: true };
    };
  }
  const probes: ProbeChecks = {
    liveness: { process: async () => ({ ok: true, message: `pid ${process.pid}, up ${Math.round(process.uptime())} s` }) },
    readiness,
    startup: {
      migrations: async () => {
        const s = await migrationStatus(rt.pool);
        return s.pending.length ? { ok: false, message: `pending: ${s.pending.join(", ")}` } : { ok: true, message: `version ${s.applied}` };
      },
      // Stage jobs cannot compute anything without the time model (timeframes, sessions).
      "time-model": async () => {
        const exists = (await rt.pool.query<{ tf: boolean; s: boolean }>("SELECT to_regclass('dim_timeframe') IS NOT NULL AS tf, to_regclass('dim_sessions') IS NOT NULL AS s")).rows[0]!;
        const missing = [!exists.tf && "dim_timeframe", !exists.s && "dim_sessions"].filter(Boolean);
        if (missing.length) return { ok: false, message: `missing: ${missing.join(", ")}` };
        const n = (await rt.pool.query<{ tf: number; s: number }>("SELECT (SELECT count(*) FROM dim_timeframe)::int AS tf, (SELECT count(*) FROM dim_sessions)::int AS s")).rows[0]!;
        const message = `dim_timeframe: ${n.tf} rows, dim_sessions: ${n.s} rows`;
        return n.tf > 0 && n.s > 0 ? { ok: true, message } : { ok: false, message: `not seeded: ${message}` };
      },
    },
  };
  return probes;
}
