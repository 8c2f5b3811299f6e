// The `web` process: bull-board at /admin/queues and the ops dashboard at /dashboard (auth required), and
// /health/* probes.
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { configRedactor } from "../../alerts/redact.ts";
import { AlertStore } from "../../alerts/store.ts";
import { bootstrap } from "../bootstrap.ts";
import { config } from "../../ops/config.ts";
import { prometheusRegistry } from "./prometheus.ts";
import { startObservability } from "../observability.ts";
import { standardProbes } from "../probes.ts";
import { Fleet } from "../../queues/fleet.ts";
import { createWebApp, BOARD_PATH } from "./app.ts";
import { InsecureBindError, resolveCredentials, type ResolvedCredentials } from "./auth.ts";
import { DASHBOARD_PATH } from "./dashboard/router.ts";
// The LLM layer owns the budgets; the dashboard only reads their live use.
import { llmQuotaFromConfig } from "../../queues/llm-quota.ts";
import { commandLine } from "../command-line.ts";

commandLine(
  "web",
  `Usage: node --import tsx apps/web/main.ts

The Procfile's \`web\`: bull-board at /admin/queues, the ops dashboard at /dashboard, /metrics (all behind
BOARD_USER/BOARD_PASSWORD or BOARD_TOKEN) and /health/* on WEB_HOST:WEB_PORT until SIGINT/SIGTERM.
`,
);
// Decided before anything starts: no credentials on a non-loopback address is refused outright.
let auth: ResolvedCredentials;
try {
  auth = resolveCredentials(config());
} catch (err) {
  if (!(err instanceof InsecureBindError)) throw err;
  process.stderr.write(`ta-fleet web: ${err.message}\n`);
  process.exit(2);
}
const rt = await bootstrap("web");
const { cfg, log } = rt;
const obs = startObservability({ service: "web", cfg, log, databaseUrl: rt.databaseUrl, redisUrl: rt.redisUrl, deps: rt.deps });
rt.shutdown.add("observability", () => obs.close());
const { credentials } = auth;
if (auth.generatedPassword) {
  // Loopback without configured credentials: a generated password, readable only by this user.
  const file = resolve(cfg.DATA_DIR, "board-password");
  mkdirSync(cfg.DATA_DIR, { recursive: true });
  writeFileSync(file, `${auth.generatedPassword}\n`, { mode: 0o600 });
  chmodSync(file, 0o600); // `mode` only applies to a new file
  log.warn({ file, user: credentials.user }, "no BOARD_PASSWORD or BOARD_TOKEN set: a generated password is stored in the file");
}
const fleet = new Fleet({ redisUrl: rt.redisUrl, prefix: cfg.QUEUE_PREFIX, name: "ta-fleet:web", onError: (err) => rt.deps.report(err, "redis:fleet") });
rt.shutdown.add("fleet", () => fleet.close());
const probes = standardProbes(rt);
const metrics = prometheusRegistry({ queues: () => fleet.allQueues(), db: rt.pool });
const quota = llmQuotaFromConfig(cfg, fleet, rt.pool, log);
const dashboard = {
  db: rt.pool,
  alerts: new AlertStore(rt.pool, configRedactor(cfg)),
  llmUsage: () => quota.budgetUsage(quota.providers),
  llmTz: cfg.LLM_QUOTA_TZ,
  log,
};
const app = createWebApp({ fleet, credentials, readOnly: cfg.BOARD_READ_ONLY, probes, metrics, dashboard });
const server = app.listen(cfg.WEB_PORT, cfg.WEB_HOST);
await new Promise<void>((res, rej) => {
  server.once("listening", () => res());
  server.once("error", (err) => rej(new Error(`cannot listen on ${cfg.WEB_HOST}:${cfg.WEB_PORT}: ${err.message}`, { cause: err })));
});
rt.shutdown.add("http", () => new Promise<void>((r) => { server.close(() => r()); server.closeAllConnections(); }));
const origin = `http://${cfg.WEB_HOST}:${cfg.WEB_PORT}`;
log.info({ board: `${origin}${BOARD_PATH}`, dashboard: `${origin}${DASHBOARD_PATH}`, readOnly: cfg.BOARD_READ_ONLY }, "web ready");
