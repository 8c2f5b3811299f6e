// The web process's HTTP app: bull-board over every fleet queue and the ops dashboard, both behind auth,
// and health probes.
import express, { type Express } from "express";
import type { Registry } from "prom-client";
import type { Fleet } from "../../queues/fleet.ts";
import { answerProbe, type ProbeChecks } from "../../ops/health.ts";
import { requireAuth, type Credentials } from "./auth.ts";
import { boardApp } from "./board.ts";
import { DASHBOARD_PATH, dashboardRouter } from "./dashboard/router.ts";
import type { DashboardSources } from "./dashboard/deps.ts";

export const BOARD_PATH = "/admin/queues";

export interface WebAppOptions {
  fleet: Fleet;
  credentials: Credentials;
  readOnly: boolean;
  probes: ProbeChecks;
  /** Served at /metrics (Prometheus text format). */
  metrics?: Registry;
  /** The ops dashboard's data sources; absent → no /dashboard. */
  dashboard?: DashboardSources;
}

export function createWebApp(opts: WebAppOptions): Express {
  const app = express();
  app.disable("x-powered-by");
  // Probes stay unauthenticated: orchestrators call them without credentials and they reveal no data.
  app.get(/^\/health\/(liveness|readiness|startup)\/?$/, async (req, res) => {
    const r = await answerProbe(req.path, opts.probes);
    res.status(r!.status).json(r!.body);
  });
  const board = boardApp({ fleet: opts.fleet, readOnly: opts.readOnly, basePath: BOARD_PATH, dashboardPath: opts.dashboard ? DASHBOARD_PATH : undefined });
  app.use(BOARD_PATH, requireAuth(opts.credentials), board);
  const registry = opts.metrics;
  if (registry) {
    // Behind the board's auth: it lists queues, volumes and data quality. Prometheus scrapes it with
    // basic_auth (password_file) or a bearer token (BOARD_TOKEN).
    app.get("/metrics", requireAuth(opts.credentials), async (_req, res) => {
      res.type(registry.contentType).send(await registry.metrics());
    });
  }
  if (opts.dashboard) {
    const deps = { ...opts.dashboard, fleet: opts.fleet, readOnly: opts.readOnly, boardPath: BOARD_PATH };
    app.use(DASHBOARD_PATH, requireAuth(opts.credentials), dashboardRouter(deps));
  }
  app.get("/", (_req, res) => res.redirect(opts.dashboard ? DASHBOARD_PATH : BOARD_PATH));
  return app;
}
