// The ops dashboard: page shells, their scripts and styles, uPlot served from node_modules (no CDN), and
// the JSON endpoints under /api. Mounted behind the web process's auth (apps/web/app.ts).
import { createRequire } from "node:module";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import express, { Router, type ErrorRequestHandler, type RequestHandler } from "express";
import { actionsApi } from "./api-actions.ts";
import { opsApi } from "./api-ops.ts";
import { researchApi } from "./api-research.ts";
import type { DashboardDeps } from "./deps.ts";
import { renderPage, type PageContext, type PageName } from "./pages.ts";
import { P, ParamError, Q, parseParams } from "./params.ts";

export const DASHBOARD_PATH = "/dashboard";

const STATIC_DIR = fileURLToPath(new URL("./static", import.meta.url));
const UPLOT_DIR = dirname(createRequire(import.meta.url).resolve("uplot"));

// Everything the pages load comes from this origin; nothing may frame them.
const securityHeaders: RequestHandler = (_req, res, next) => {
  res.setHeader("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'");
  res.setHeader("X-Content-Type-Options", "nosniff");
  res.setHeader("Referrer-Policy", "same-origin");
  next();
};

function errors(d: DashboardDeps, json: boolean): ErrorRequestHandler {
  return (err, _req, res, _next) => {
    const status = err instanceof ParamError ? 400 : Number((err as { status?: unknown }).status) || 500;
    if (status >= 500) d.log?.error({ err: (err as Error).message }, "dashboard request failed");
    const message = status >= 500 ? "internal error (see the web process's log)" : (err as Error).message;
    const extra = err instanceof ParamError ? { parameter: err.parameter, value: err.value } : {};
    if (json) res.status(status).json({ error: message, ...extra });
    else res.status(status).type("text/plain").send(message);
  };
}

export function dashboardRouter(d: DashboardDeps): Router {
  const r = Router();
  r.use(securityHeaders);
  r.use("/static", express.static(STATIC_DIR, { index: false, fallthrough: false }));
  r.use("/vendor/uplot", express.static(UPLOT_DIR, { index: false, fallthrough: false }));
  const api = Router();
  api.use(opsApi(d), researchApi(d), actionsApi(d));
  api.use((req, res) => void res.status(404).json({ error: `no endpoint ${req.method} ${req.baseUrl}${req.path}` }));
  api.use(errors(d, true));
  r.use("/api", api);

  const ctx: PageContext = { base: DASHBOARD_PATH, boardPath: d.boardPath, readOnly: d.readOnly };
  const page = (name: PageName, title: string): RequestHandler => (req, res) => {
    parseParams(name === "alerts" ? Q.alerts : name === "backtests" ? Q.backtestPage : name === "walkforwards" ? Q.walkForwardsPage : Q.none, req.query);
    res.type("html").send(renderPage(name, title, ctx));
  };
  r.get("/", page("fleet", "Fleet"));
  r.get("/runs", page("runs", "Flow runs"));
  r.get("/runs/:runId", (req, res) => {
    const { runId } = parseParams(P.run, req.params);
    res.type("html").send(renderPage("run", `Run ${runId}`, ctx, { runId }));
  });
  r.get("/alerts", page("alerts", "Alerts"));
  r.get("/llm", page("llm", "LLM budgets"));
  r.get("/backtests", page("backtests", "Backtests"));
  r.get("/walk-forwards", page("walkforwards", "Walk-forwards"));
  r.get("/walk-forwards/:walkForwardId", (req, res) => {
    parseParams(Q.none, req.query);
    const { walkForwardId } = parseParams(P.walkForward, req.params);
    res.type("html").send(renderPage("walkforward", `Walk-forward ${walkForwardId}`, ctx, { walkForwardId }));
  });
  r.use(errors(d, false));
  return r;
}
