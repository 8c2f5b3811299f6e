// Which queues a worker process consumes: every declared kind by default; WORKER_QUEUES and --queues are
// checked against the kinds with the same rule, at start-up, before anything connects.
import { resolve } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { KIND_NAMES } from "../../queues/registry.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/db.ts";
import { reap, spawnEvents, type EventProcess } from "../helpers/proc.ts";
import { deletePrefix, redisUrl, uniquePrefix } from "../helpers/redis.ts";

const WORKER = resolve(import.meta.dirname, "../../apps/worker/main.ts");
const KNOWN = `known: ${KIND_NAMES.join(", ")}`;

let db: TestDatabase;
const procs: EventProcess[] = [];
const prefixes: string[] = [];
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await Promise.all(prefixes.map(deletePrefix));
  await db.drop();
});
afterEach(() => reap(procs.splice(0)));

function worker(args: string[], extra: Record<string, string>): EventProcess {
  const prefix = uniquePrefix("wq");
  prefixes.push(prefix);
  // WORKER_QUEUES "" is unset (config treats empty as unset), whatever the caller's environment holds.
  const env = { REDIS_URL: redisUrl(), DATABASE_URL: db.url, QUEUE_PREFIX: prefix, LOG_PRETTY: "false", NODE_ENV: "test", WORKER_QUEUES: "", ...extra };
  const p = spawnEvents(process.execPath, ["--import", "tsx", WORKER, ...args], env);
  procs.push(p);
  return p;
}

async function refused(p: EventProcess): Promise<string> {
  expect(await p.exited).toEqual({ code: 2, signal: null });
  return p.stderr.join("");
}

describe("worker queue list", () => {
  it("an unknown name in WORKER_QUEUES stops the worker at start-up, naming the variable, the value and the known names", async () => {
    expect(await refused(worker([], { WORKER_QUEUES: "stage,stgae" }))).toBe(`ta-fleet worker: WORKER_QUEUES: unknown queue "stgae" (${KNOWN})\n`);
  });

  it("--queues follows the same rule, and does not excuse a bad WORKER_QUEUES", async () => {
    const [unknown, empty, badEnv] = await Promise.all([
      refused(worker(["--queues", "stage,nope"], {})),
      refused(worker(["--queues", " , "], {})),
      refused(worker(["--queues", "stage"], { WORKER_QUEUES: "signals" })),
    ]);
    expect(unknown).toBe(`ta-fleet worker: --queues: unknown queue "nope" (${KNOWN})\n`);
    expect(empty).toBe(`ta-fleet worker: --queues: no queue named (${KNOWN})\n`);
    expect(badEnv).toBe(`ta-fleet worker: WORKER_QUEUES: unknown queue "signals" (${KNOWN})\n`);
  });

  // Two whole worker processes starting side by side: slow on a busy two-core machine.
  it("consumes every declared kind by default, and exactly the named ones otherwise", { timeout: 120_000 }, async () => {
    const all = worker([], {});
    const some = worker(["--queues", "maintenance,llm,maintenance"], { WORKER_QUEUES: "stage" });
    expect((await all.waitFor("worker ready", {}, 60_000)).queues).toEqual([...KIND_NAMES]);
    expect((await some.waitFor("worker ready", {}, 60_000)).queues).toEqual(["maintenance", "llm"]);
    for (const p of [all, some]) p.kill("SIGTERM");
    expect(await all.exited).toEqual({ code: 0, signal: null });
    expect(await some.exited).toEqual({ code: 0, signal: null });
  });
});
