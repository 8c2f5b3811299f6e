// Kubernetes-style probes for every long-running process: liveness (the process answers), readiness
// (dependencies reachable, worker running), startup (migrations applied, reference tables seeded).
import { createServer, type Server } from "node:http";
import { hostname } from "node:os";

export type Check = () => Promise<{ ok: boolean; message?: string }>;
export type Probe = "liveness" | "readiness" | "startup";

export interface HealthReport {
  healthy: boolean;
  message: string;
  checked_at: string;
  details: { checks: Record<string, { ok: boolean; message?: string; ms: number }> };
}

export async function runChecks(checks: Record<string, Check>, timeoutMs = 3_000): Promise<HealthReport> {
  const entries = await Promise.all(
    Object.entries(checks).map(async ([name, check]) => {
      const t0 = performance.now();
      let timer: NodeJS.Timeout | undefined;
      const r = await Promise.race([
        check().catch((err: Error) => ({ ok: false, message: err.message })),
        new Promise<{ ok: boolean; message: string }>((res) => {
          timer = setTimeout(() => res({ ok: false, message: `timed out after ${timeoutMs} ms` }), timeoutMs);
        }),
      ]).finally(() => clearTimeout(timer));
      return [name, { ...r, ms: Math.round(performance.now() - t0) }] as const;
    }),
  );
  const failed = entries.filter(([, r]) => !r.ok).map(([n]) => n);
  return {
    healthy: failed.length === 0,
    message: failed.length ? `failing: ${failed.join(", ")}` : "ok",
    checked_at: new Date().toISOString(),
    details: { checks: Object.fromEntries(entries) },
  };
}

export type ProbeChecks = Record<Probe, Record<string, Check>>;

/** Answers GET /health/{liveness,readiness,startup}; null when the path is not a probe. */
export async function answerProbe(path: string, probes: ProbeChecks): Promise<{ status: number; body: HealthReport } | null> {
  const m = /^\/health\/(liveness|readiness|startup)\/?$/.exec(path);
  if (!m) return null;
  const report = await runChecks(probes[m[1] as Probe]);
  return { status: report.healthy ? 200 : 503, body: report };
}

/** A tiny HTTP server for processes that have no web server of their own (workers, scheduler). */
export async function startHealthServer(port: number, host: string, probes: ProbeChecks): Promise<{ server: Server; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    void answerProbe(new URL(req.url ?? "/", "http://x").pathname, probes).then((r) => {
      res.writeHead(r?.status ?? 404, { "content-type": "application/json" });
      res.end(JSON.stringify(r?.body ?? { error: "not found" }));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  let closing: Promise<void> | undefined;
  return {
    server,
    close: () =>
      (closing ??= new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      })),
  };
}

/**
 * The BullMQ worker name of this process, `<host>:<pid>:<role>`: bull-board, the dashboard's "Workers alive"
 * and chat-ops /status read it back from CLIENT LIST to say where each worker runs.
 */
export function workerName(role: string, host = hostname(), pid = process.pid): string {
  // A Redis client name may not contain spaces or newlines; a host name never has ':' either.
  return `${host.replace(/[^A-Za-z0-9_.-]/g, "_")}:${pid}:${role}`;
}

export interface WorkerPlace {
  host: string;
  pid: number | null;
  role: string;
}

/** Where a worker connection runs, from its raw client name (`<prefix>:<queue>:w:<workerName>`). */
export function workerPlace(rawClientName: string): WorkerPlace {
  const m = /:w:([^:]+):(\d+):([^:]+)$/.exec(rawClientName);
  // An unnamed worker (a process older than worker names, or another client of the queue) still counts.
  return m ? { host: m[1]!, pid: Number(m[2]), role: m[3]! } : { host: "unknown", pid: null, role: "unknown" };
}

export interface HostWorkers {
  host: string;
  processes: Array<{ pid: number | null; role: string; queues: string[] }>;
}

/** Worker connections grouped by host, then by process, hosts and pids in order. */
export function workersByHost(connections: ReadonlyArray<WorkerPlace & { queue: string }>): HostWorkers[] {
  const hosts = new Map<string, Map<string, HostWorkers["processes"][number]>>();
  for (const c of connections) {
    const procs = hosts.get(c.host) ?? hosts.set(c.host, new Map()).get(c.host)!;
    const key = `${c.pid}:${c.role}`;
    const proc = procs.get(key) ?? procs.set(key, { pid: c.pid, role: c.role, queues: [] }).get(key)!;
    if (!proc.queues.includes(c.queue)) proc.queues.push(c.queue);
  }
  return [...hosts]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([host, procs]) => ({ host, processes: [...procs.values()].sort((a, b) => (a.pid ?? 0) - (b.pid ?? 0)).map((p) => ({ ...p, queues: p.queues.sort() })) }));
}
