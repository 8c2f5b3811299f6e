// Kubernetes-style probes for every long-running process: liveness (the process answers), readiness
// (dependencies reachable, worker running), startup (migrations applied, reference tables seeded).
import { createServer, type Server } from "node:http";

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
