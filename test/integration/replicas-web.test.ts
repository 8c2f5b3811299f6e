// Replicas of the web and worker processes on one fleet: two web processes with the same configured
// credentials both accept what the other accepts (nothing is kept per process, so a load balancer may send
// any request anywhere) and both serve the dashboard and bull-board; two worker processes show up there,
// and in chat-ops /status, by host and pid.
import { hostname } from "node:os";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { configRedactor } from "../../alerts/redact.ts";
import { AlertStore } from "../../alerts/store.ts";
import { ChatOps } from "../../apps/bot/chat-ops.ts";
import { parseConfig } from "../../ops/config.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/db.ts";
import { testFleet, type TestFleet } from "../helpers/fleet.ts";
import { freePort } from "../helpers/net.ts";
import { reap, spawnTs, type EventProcess } from "../helpers/proc.ts";
import { redisUrl } from "../helpers/redis.ts";
import { poll } from "../helpers/wait.ts";

const USER = "ops";
const PASSWORD = "same-secret-on-every-replica";
const TOKEN = "bearer-token-shared-by-replicas";
const STARTUP_MS = 180_000;
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;

let db: TestDatabase;
let tf: TestFleet;
const procs: EventProcess[] = [];
const webs: string[] = [];
let workers: EventProcess[];

beforeAll(async () => {
  db = await createTestDatabase();
  tf = testFleet("replicas-web");
  const env = { REDIS_URL: redisUrl(), DATABASE_URL: db.url, QUEUE_PREFIX: tf.prefix, LOG_LEVEL: "info", LOG_PRETTY: "0", NODE_ENV: "test" };
  workers = [0, 1].map(() => spawnTs("apps/worker/main.ts", { ...env, WORKER_QUEUES: "maintenance", COMPUTE_THREADS: "1" }));
  const ports = [await freePort(), await freePort()];
  const web = ports.map((port) => spawnTs("apps/web/main.ts", { ...env, WEB_HOST: "127.0.0.1", WEB_PORT: String(port), BOARD_USER: USER, BOARD_PASSWORD: PASSWORD, BOARD_TOKEN: TOKEN }));
  procs.push(...workers, ...web);
  // Four processes starting at once on a shared 2-core machine: minutes, not seconds, when it is busy.
  await Promise.all([...workers.map((w) => w.waitFor("worker ready", {}, STARTUP_MS)), ...web.map((w) => w.waitFor("web ready", {}, STARTUP_MS))]);
  webs.push(...ports.map((p) => `http://127.0.0.1:${p}`));
}, STARTUP_MS + 30_000);
afterAll(async () => {
  await reap(procs.splice(0));
  await Promise.allSettled([tf?.close(), db?.drop()]);
});

const get = (base: string, path: string, authorization?: string) => fetch(`${base}${path}`, authorization ? { headers: { authorization } } : {});

describe("web and worker replicas", () => {
  it("credentials that work on one web replica work on the other; both serve the dashboard and bull-board", async () => {
    const auth = basic(USER, PASSWORD);
    for (const base of webs) {
      for (const path of ["/dashboard", "/admin/queues", "/admin/queues/api/queues", "/dashboard/api/fleet/queues"]) {
        expect((await get(base, path, auth)).status, `${base}${path}`).toBe(200);
        expect((await get(base, path, `Bearer ${TOKEN}`)).status, `${base}${path} (bearer)`).toBe(200);
      }
      expect((await get(base, "/dashboard")).status).toBe(401);
      expect((await get(base, "/dashboard", basic(USER, "not-the-password"))).status).toBe(401);
    }
  });

  it("the dashboard of either replica and chat-ops /status list both worker processes by host and pid", async () => {
    const host = hostname();
    const pids = workers.map((w) => w.pid).sort((a, b) => a - b);
    for (const base of webs) {
      const body = await poll(async () => {
        const r = (await (await get(base, "/dashboard/api/fleet/queues", basic(USER, PASSWORD))).json()) as { queues: Array<{ queue: string; workers: Array<{ host: string; pid: number; role: string }> }> };
        const m = r.queues.find((q) => q.queue === "maintenance")!;
        return m.workers.length === 2 ? m : undefined;
      }, `two maintenance workers on ${base}`);
      expect(body.workers.map((w) => ({ host: w.host, pid: w.pid, role: w.role })).sort((a, b) => a.pid - b.pid)).toEqual(pids.map((pid) => ({ host, pid, role: "worker" })));
      // bull-board's worker panel names each worker by what follows ":w:" in its connection name.
      const board = (await (await get(base, "/admin/queues/api/queues/maintenance/workers", basic(USER, PASSWORD))).json()) as { workers: Array<{ name: string }> };
      expect(board.workers.map((w) => w.name).sort()).toEqual(pids.map((pid) => `${host}:${pid}:worker`).sort());
    }
    const ops = new ChatOps({ fleet: tf.fleet, store: new AlertStore(db.pool, configRedactor(parseConfig({}))), budgetUsage: async () => [], dashboardBase: "https://fleet.example" });
    const status = await ops.status();
    expect(status).toContain("workers alive: 2");
    expect(status).toContain(`🖥 ${host}: worker pid ${pids[0]} (1 queue), worker pid ${pids[1]} (1 queue)`);
  });
});
