// `npm start`: one fleet per DATA_DIR. The embedded stack (or the configured servers), migrations and sample
// data, then the Procfile under ops/supervisor, then the fleet's main job once every process is up. Ctrl-C,
// SIGTERM or `npm run stop` stop the processes gracefully and then the local servers this run started.
import { resolve } from "node:path";
import { config } from "../../ops/config.ts";
import { createLogger } from "../../ops/logger.ts";
import { resolveUrls } from "../bootstrap.ts";
import { stopStack } from "../../ops/embedded/stack.ts";
import { startObservability } from "../observability.ts";
import { planPorts, type ReservedPort } from "../../ops/supervisor/ports.ts";
import { parseFormation, readProcfile, UsageError } from "../../ops/supervisor/procfile.ts";
import { FleetLock, FleetRunningError } from "../../ops/supervisor/state.ts";
import { Supervisor } from "../../ops/supervisor/supervisor.ts";
import { producerSpan } from "../../ops/telemetry.ts";
import { prepareDatabase, runMainJob } from "./main-job.ts";
import { PROCFILE, ROOT, START_SCRIPT } from "./paths.ts";

const cfg = config();
const log = createLogger({ service: "start", level: cfg.LOG_LEVEL, pretty: cfg.LOG_PRETTY });
function refuse(err: Error, code: number): never {
  process.stderr.write(`ta-fleet: ${err.message}\n`);
  process.exit(code);
}

let lock: FleetLock;
try {
  lock = FleetLock.acquire(cfg.DATA_DIR, START_SCRIPT);
} catch (err) {
  if (!(err instanceof FleetRunningError)) throw err;
  refuse(err, 1);
}

// Everything the processes will need is checked before anything starts.
const reserved: ReservedPort[] = [
  ...(cfg.REDIS_URL ? [] : [{ variable: "EMBED_REDIS_PORT", port: cfg.EMBED_REDIS_PORT }]),
  ...(cfg.DATABASE_URL ? [] : [{ variable: "EMBED_PG_PORT", port: cfg.EMBED_PG_PORT }]),
];
const sources = {
  web: { variable: "WEB_PORT", base: cfg.WEB_PORT, single: true },
  worker: { variable: "HEALTH_PORT_WORKER", base: cfg.HEALTH_PORT_WORKER },
  scheduler: { variable: "HEALTH_PORT_SCHEDULER", base: cfg.HEALTH_PORT_SCHEDULER },
  bot: { variable: "HEALTH_PORT_BOT", base: cfg.HEALTH_PORT_BOT },
};
const plan = await (async () => {
  const procfile = readProcfile(PROCFILE);
  const formation = parseFormation(cfg.FLEET_FORMATION, procfile);
  return { procfile, formation, ports: await planPorts(formation, sources, cfg.WEB_HOST, reserved) };
})().catch((err: Error) => (err instanceof UsageError ? refuse(err, 2) : Promise.reject(err)));

const sup = new Supervisor({ ...plan, cwd: ROOT, lock, host: cfg.WEB_HOST, log, stopTimeoutMs: cfg.WORKER_SHUTDOWN_MS + 15_000 });
// From here on a signal stops whatever has been started so far, and only that.
sup.stopOnSignals();

const stack = await resolveUrls(cfg, log);
const stopOwnServers = async () => {
  if (!stack.started.length) return;
  log.info({ servers: stack.started }, "stopping the local servers this run started");
  await stopStack(cfg.DATA_DIR, stack.started).catch((err: Error) => log.error({ err: err.message }, "stopping local servers failed"));
};
let setupFailed = false;
const asOf = sup.stopping
  ? undefined
  : await prepareDatabase(stack.databaseUrl, log).catch((err: Error) => {
      log.error({ err: err.message }, "preparing the database failed");
      setupFailed = true;
      void sup.stop("preparing the database failed");
      return undefined;
    });

const env = { ...process.env, REDIS_URL: stack.redisUrl, DATABASE_URL: stack.databaseUrl, FORCE_COLOR: process.stdout.isTTY ? "1" : "0" };
let closeObservability = async () => {
  // replaced below once the fleet's observability is up
};
if (asOf && (await sup.start(env))) {
  const origin = `http://${cfg.WEB_HOST}:${cfg.WEB_PORT}`;
  const credentials = cfg.BOARD_PASSWORD || cfg.BOARD_TOKEN ? "from BOARD_USER/BOARD_PASSWORD or BOARD_TOKEN" : `user ${cfg.BOARD_USER ?? "admin"}, password in ${resolve(cfg.DATA_DIR, "board-password")}`;
  log.info({ board: `${origin}/admin/queues`, dashboard: `${origin}/dashboard`, credentials }, "fleet up: bull-board URL and credentials");
  // The main job is one trace: its producer span here, every job of the run under it.
  const obs = startObservability({ service: "start", cfg, log, databaseUrl: stack.databaseUrl, redisUrl: stack.redisUrl });
  const producer = producerSpan(obs.telemetry.tracer, "start main-job", { "run.as_of": asOf });
  closeObservability = async () => {
    if (producer.span.isRecording()) producer.span.end();
    await obs.close();
  };
  void runMainJob({ redisUrl: stack.redisUrl, cfg, asOf, abort: sup.done, parent: producer.context })
    .then(
      ({ text }) => log.info(`main job finished\n${text}`),
      (err: Error) => log.error({ err: err.message }, "main job did not complete"),
    )
    .finally(() => producer.span.end());
}

const end = await sup.done;
await closeObservability();
await stopOwnServers();
lock.release();
log.info({ code: end.code, reason: end.reason }, "fleet stopped");
process.exit(setupFailed ? 1 : end.code);
