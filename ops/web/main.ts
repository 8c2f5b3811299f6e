// The `web` process: bull-board at /admin/queues (auth required) and /health/* probes.
import { randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { bootstrap } from "../bootstrap.ts";
import { standardProbes } from "../probes.ts";
import { Fleet } from "../../queues/fleet.ts";
import { createWebApp, BOARD_PATH } from "./app.ts";
import { isLoopback, type Credentials } from "./auth.ts";

const rt = await bootstrap("web");
const { cfg, log } = rt;
let credentials: Credentials = { user: cfg.BOARD_USER, password: cfg.BOARD_PASSWORD, token: cfg.BOARD_TOKEN };
if (!credentials.password && !credentials.token) {
  if (!isLoopback(cfg.WEB_HOST)) {
    process.stderr.write(`ta-fleet web: refusing to listen on ${cfg.WEB_HOST} without authentication: set BOARD_USER/BOARD_PASSWORD or BOARD_TOKEN\n`);
    process.exit(2);
  }
  // Loopback without configured credentials: a generated password, readable only by this user.
  const password = randomBytes(12).toString("base64url");
  const file = resolve(cfg.DATA_DIR, "board-password");
  mkdirSync(cfg.DATA_DIR, { recursive: true });
  writeFileSync(file, `${password}\n`, { mode: 0o600 });
  credentials = { user: "admin", password };
  log.warn({ file }, "no BOARD_USER/BOARD_PASSWORD set: user 'admin' with a generated password stored in the file");
}
const fleet = new Fleet({ redisUrl: rt.redisUrl, prefix: cfg.QUEUE_PREFIX, name: "ta-fleet:web" });
rt.shutdown.add("fleet", () => fleet.close());
const { probes, close } = standardProbes(rt);
rt.shutdown.add("probes", close);
const app = createWebApp({ fleet, credentials, readOnly: cfg.BOARD_READ_ONLY, probes });
const server = app.listen(cfg.WEB_PORT, cfg.WEB_HOST);
await new Promise<void>((res, rej) => {
  server.once("listening", () => res());
  server.once("error", (err) => rej(new Error(`cannot listen on ${cfg.WEB_HOST}:${cfg.WEB_PORT}: ${err.message}`, { cause: err })));
});
rt.shutdown.add("http", () => new Promise<void>((r) => { server.close(() => r()); server.closeAllConnections(); }));
log.info({ url: `http://${cfg.WEB_HOST}:${cfg.WEB_PORT}${BOARD_PATH}`, readOnly: cfg.BOARD_READ_ONLY }, "web ready");
