// `npm start`: one fleet per DATA_DIR. The embedded stack (or the configured servers), migrations and sample
// data, then the Procfile under ops/supervisor, then the fleet's main job once every process is up. Ctrl-C,
// SIGTERM or `npm run stop` stop the processes gracefully and then the local servers this run started.
// On a terminal the output is short and pretty, and start-up ends with where the board is and how to log in.
import { resolve } from "node:path";
import { config } from "../../ops/config.ts";
import { chooseLogFormat, createLogger } from "../../ops/logger.ts";
import { resolveUrls } from "../bootstrap.ts";
import { commandLine } from "../command-line.ts";
import { DEFAULT_BOARD_USER } from "../web/auth.ts";
import { stopStack } from "../../ops/embedded/stack.ts";
import { startObservability } from "../observability.ts";
import { planPorts, type ReservedPort } from "../../ops/supervisor/ports.ts";
import { instanceName, parseFormation, readProcfile, UsageError } from "../../ops/supervisor/procfile.ts";
import { FleetLock, FleetRunningError, stopCommand } from "../../ops/supervisor/state.ts";
import { Supervisor } from "../../ops/supervisor/supervisor.ts";
import { producerSpan } from "../../ops/telemetry.ts";
import { prepareDatabase, runMainJob } from "./main-job.ts";
import { PROCFILE, ROOT, START_SCRIPT } from "./paths.ts";

commandLine(
  "start",
  `Usage: npm start

Starts the fleet of DATA_DIR: the embedded Redis and PostgreSQL when REDIS_URL / DATABASE_URL are unset,
migrations and sample data, the Procfile's processes (FLEET_FORMATION) under a supervisor, then the main job;
prints the bull-board URL and where its credentials are once every process is up. Runs until Ctrl-C, SIGTERM
or \`npm run stop\`. The variables: README, "Configuration"; check them with \`npm run config:check\`.
`,
);
const cfg = config();
// One format for the whole fleet: its processes write to the same terminal, or the same log, as this one.
const format = chooseLogFormat(cfg.LOG_FORMAT, process.stdout, cfg.NODE_ENV);
// A person at a terminal who did not ask for a level sees the processes' warnings and errors only; what
// start-up did is said here, ending with the board block.
const quiet = format === "pretty" && cfg.LOG_LEVEL === undefined;
const log = createLogger({ service: "start", level: cfg.LOG_LEVEL, format });
const say = (text: string) => process.stdout.write(text);

/** How to log in to the board, never the secret itself. */
function whereCredentials(): string {
  const user = cfg.BOARD_USER ?? DEFAULT_BOARD_USER;
  const ways = [
    ...(cfg.BOARD_PASSWORD ? [`user ${user}, password from BOARD_PASSWORD`] : []),
    ...(cfg.BOARD_TOKEN ? ["bearer token from BOARD_TOKEN"] : []),
  ];
  return ways.length ? ways.join("; or ") : `user ${user}, password in ${resolve(cfg.DATA_DIR, "board-password")}`;
}

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
  ...(cfg.redis ? [] : [{ variable: "EMBED_REDIS_PORT", port: cfg.EMBED_REDIS_PORT }]),
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

const env = {
  ...process.env,
  // A Sentinel/Cluster topology reaches the processes as the REDIS_* variables they inherit.
  ...(typeof stack.redisUrl === "string" ? { REDIS_URL: stack.redisUrl } : {}),
  DATABASE_URL: stack.databaseUrl,
  FORCE_COLOR: process.stdout.isTTY ? "1" : "0",
  LOG_FORMAT: format,
  // npm's banner and spinner around the release's `npm run migrate` are noise on a terminal too.
  ...(quiet ? { LOG_LEVEL: "warn", npm_config_loglevel: "silent" } : {}),
};
let closeObservability = async () => {
  // replaced below once the fleet's observability is up
};
if (asOf && (await sup.start(env))) {
  const origin = `http://${cfg.WEB_HOST.includes(":") ? `[${cfg.WEB_HOST}]` : cfg.WEB_HOST}:${cfg.WEB_PORT}`;
  const board = `${origin}/admin/queues`;
  const dashboard = `${origin}/dashboard`;
  const credentials = whereCredentials();
  // Every process answered its probe, and each writes its start-up lines before it answers: nothing of the
  // start-up can print after this.
  if (format === "pretty") {
    say(
      `\nfleet up: ${plan.formation.map(instanceName).join(", ")}; the main job runs next\n` +
        `  bull-board   ${board}\n  dashboard    ${dashboard}\n  credentials  ${credentials}\n  stop         Ctrl-C, or ${stopCommand(cfg.DATA_DIR)}\n\n`,
    );
  } else {
    log.info({ board, dashboard, credentials }, "fleet up: bull-board URL and credentials");
  }
  // The main job is one trace: its producer span here, every job of the run under it.
  const obs = startObservability({ service: "start", cfg, log, databaseUrl: stack.databaseUrl, redisUrl: stack.redisUrl });
  const producer = producerSpan(obs.telemetry.tracer, "start main-job", { "run.as_of": asOf });
  closeObservability = async () => {
    if (producer.span.isRecording()) producer.span.end();
    await obs.close();
  };
  const finished = (text: string) => {
    if (format !== "pretty") return log.info(`main job finished\n${text}`);
    // After the progress line (rewritten in place on stderr): the summary, then where the board is again.
    say(`\nmain job finished\n${text}\n\nthe fleet keeps running: bull-board ${board}; stop with Ctrl-C or ${stopCommand(cfg.DATA_DIR)}\n`);
  };
  void runMainJob({ redisUrl: stack.redisUrl, databaseUrl: stack.databaseUrl, cfg, asOf, abort: sup.done, parent: producer.context })
    .then(
      ({ text }) => finished(text),
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
