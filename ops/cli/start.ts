// `npm start`: the embedded stack (or the configured servers), migrations, sample data, then the
// Procfile under the foreman supervisor (`nf`), and the fleet's main job. Ctrl-C stops the processes
// gracefully and then the local servers this run started.
import { spawn } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { config } from "../config.ts";
import { createLogger } from "../logger.ts";
import { resolveUrls } from "../bootstrap.ts";
import { stopStack } from "../embedded/stack.ts";
import { startObservability } from "../observability.ts";
import { producerSpan } from "../telemetry.ts";
import { prepareDatabase, runMainJob } from "./main-job.ts";
import { supervisorPidFile } from "./paths.ts";

const cfg = config();
const log = createLogger({ service: "start", level: cfg.LOG_LEVEL, pretty: cfg.LOG_PRETTY });
const formation = process.env.FLEET_FORMATION ?? "web=1,worker=2,scheduler=1,bot=1";
if (!/^([a-z]+=\d+)(,[a-z]+=\d+)*$/.test(formation)) {
  process.stderr.write(`ta-fleet: FLEET_FORMATION: must look like web=1,worker=2,scheduler=1 (got ${JSON.stringify(formation)})\n`);
  process.exit(2);
}

const stack = await resolveUrls(cfg, log);
const stopOwnServers = async () => {
  if (!stack.started.length) return;
  log.info({ servers: stack.started }, "stopping the local servers this run started");
  await stopStack(cfg.DATA_DIR, stack.started).catch((err: Error) => log.error({ err: err.message }, "stopping local servers failed"));
};
let asOf: string;
try {
  asOf = await prepareDatabase(stack.databaseUrl, log);
} catch (err) {
  log.error({ err: (err as Error).message }, "preparing the database failed");
  await stopOwnServers();
  process.exit(1);
}

const env = { ...process.env, REDIS_URL: stack.redisUrl, DATABASE_URL: stack.databaseUrl, FORCE_COLOR: process.stdout.isTTY ? "1" : "0" };
// nf gets its own process group: terminal signals reach only this script, which forwards exactly one.
const nf = spawn(resolve("node_modules/.bin/nf"), ["start", "-j", "Procfile", "-p", String(cfg.WEB_PORT + 2000), formation], {
  env,
  stdio: "inherit",
  detached: true,
});
mkdirSync(cfg.DATA_DIR, { recursive: true });
writeFileSync(supervisorPidFile(cfg), `${nf.pid}\n`);
let stopping = false;
const forward = (sig: NodeJS.Signals) => {
  if (stopping) return;
  stopping = true;
  log.info({ signal: sig }, "stopping the fleet");
  nf.kill(sig);
};
process.on("SIGINT", () => forward("SIGINT"));
process.on("SIGTERM", () => forward("SIGTERM"));
const exited = new Promise<number>((r) => nf.once("exit", (code, signal) => r(code ?? (signal ? 1 : 0))));

log.info(
  { board: `http://${cfg.WEB_HOST}:${cfg.WEB_PORT}/admin/queues`, dashboard: `http://${cfg.WEB_HOST}:${cfg.WEB_PORT}/dashboard`, credentials: cfg.BOARD_PASSWORD || cfg.BOARD_TOKEN ? "from BOARD_USER/BOARD_PASSWORD or BOARD_TOKEN" : `user ${cfg.BOARD_USER ?? "admin"}, password in ${resolve(cfg.DATA_DIR, "board-password")}` },
  "fleet starting: bull-board URL and credentials",
);
// The main job is one trace: its producer span here, every job of the run under it.
const obs = startObservability({ service: "start", cfg, log, databaseUrl: stack.databaseUrl, redisUrl: stack.redisUrl });
const producer = producerSpan(obs.telemetry.tracer, "start main-job", { "run.as_of": asOf });
void runMainJob({ redisUrl: stack.redisUrl, cfg, asOf, abort: exited, parent: producer.context })
  .then(
    ({ text }) => log.info(`main job finished\n${text}`),
    (err: Error) => log.error({ err: err.message }, "main job did not complete"),
  )
  .finally(() => producer.span.end());

const code = await exited;
if (producer.span.isRecording()) producer.span.end();
await obs.close();
rmSync(supervisorPidFile(cfg), { force: true });
await stopOwnServers();
process.exit(stopping ? 0 : code);
