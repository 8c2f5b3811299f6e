// The standard checks behind /health/* for any process with Redis and PostgreSQL.
import type { Worker } from "bullmq";
import { Redis } from "ioredis";
import { migrationStatus } from "../db/migrate.ts";
import type { Runtime } from "./bootstrap.ts";
import type { ProbeChecks } from "./health.ts";

export function standardProbes(rt: Pick<Runtime, "pool" | "redisUrl">, opts: { workers?: Worker[] } = {}): { probes: ProbeChecks; close(): Promise<void> } {
  // A dedicated, lazily connected client: the probe must not queue behind a worker's blocking commands.
  let redis: Redis | undefined;
  const ping = async () => {
    redis ??= new Redis(rt.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1, enableOfflineQueue: false, connectionName: "ta-fleet:health" });
    if (redis.status === "wait") await redis.connect();
    return { ok: (await redis.ping()) === "PONG" };
  };
  const readiness: ProbeChecks["readiness"] = {
    redis: ping,
    postgres: async () => ({ ok: (await rt.pool.query("SELECT 1 AS ok")).rows[0]?.ok === 1 }),
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
  return { probes, close: async () => void redis?.disconnect() };
}
