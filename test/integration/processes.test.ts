// The real entry points as processes: the worker process serves the smoke path end to end (CLI →
// Redis → worker → PostgreSQL row), answers health probes, and shuts down gracefully on SIGTERM.
import { execFile } from "node:child_process";
import { resolve } from "node:path";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Fleet } from "../../queues/fleet.ts";
import { backtestKind, flowKind } from "../../queues/registry.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/db.ts";
import { freePort } from "../helpers/net.ts";
import { reap, spawnTs, type EventProcess } from "../helpers/proc.ts";
import { deletePrefix, redisUrl, uniquePrefix } from "../helpers/redis.ts";

const execFileP = promisify(execFile);
const ROOT = resolve(import.meta.dirname, "../..");
// Each test: its own database and queue prefix(es).
let db: TestDatabase;
const procs: EventProcess[] = [];
const prefixes: string[] = [];
beforeEach(async () => {
  db = await createTestDatabase();
});
afterEach(async () => {
  await reap(procs.splice(0));
  await Promise.all(prefixes.splice(0).map(deletePrefix));
  await db.drop();
});

function env(prefix: string, extra: Record<string, string> = {}) {
  return { REDIS_URL: redisUrl(), DATABASE_URL: db.url, QUEUE_PREFIX: prefix, LOG_PRETTY: "false", NODE_ENV: "test", ...extra };
}

const cli = (args: string[], e: Record<string, string>) =>
  execFileP(process.execPath, ["--import", "tsx", "apps/cli/enqueue.ts", ...args], { cwd: ROOT, env: { ...process.env, ...e }, timeout: 60_000 }).then(
    (r) => ({ code: 0, ...r }),
    (err: { code: number; stdout: string; stderr: string }) => ({ code: err.code, stdout: err.stdout, stderr: err.stderr }),
  );

describe("fleet processes", () => {
  it("smoke path: CLI → Redis → worker process → PostgreSQL row; probes; SIGTERM exits 0", async () => {
    const prefix = uniquePrefix("proc");
    prefixes.push(prefix);
    const port = await freePort();
    const w = spawnTs("apps/worker/main.ts", env(prefix, { WORKER_QUEUES: "maintenance", HEALTH_PORT: String(port) }));
    procs.push(w);
    await w.waitFor("worker ready");
    const r = await cli(["smoke", "--id", "proc-smoke", "--message", "end to end", "--wait", "--timeout", "30"], env(prefix));
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/completed: \{"task":"smoke","runs":1/);
    const { rows } = await db.pool.query("SELECT message, worker_pid, runs FROM fleet_smoke WHERE job_id = 'smoke.proc-smoke'");
    expect(rows).toEqual([{ message: "end to end", worker_pid: w.pid, runs: 1 }]);

    for (const probe of ["liveness", "readiness", "startup"]) {
      const res = await fetch(`http://127.0.0.1:${port}/health/${probe}`);
      const body = (await res.json()) as { healthy: boolean; details: { checks: Record<string, unknown> } };
      expect(res.status, probe).toBe(200);
      expect(body.healthy).toBe(true);
    }
    const ready = (await (await fetch(`http://127.0.0.1:${port}/health/readiness`)).json()) as { details: { checks: object } };
    expect(Object.keys(ready.details.checks).sort()).toEqual(["postgres", "redis", "workers"]);

    w.kill("SIGTERM");
    expect(await w.exited).toEqual({ code: 0, signal: null });
  });

  it("bad input: the CLI and the worker exit 2 naming the flag or variable, enqueueing nothing", async () => {
    const prefix = uniquePrefix("bad");
    prefixes.push(prefix);
    const a = await cli(["daily-refresh", "--assets", "BTC USD", "--as-of", "2022-11-15"], env(prefix));
    expect(a.code).toBe(2);
    expect(a.stderr).toMatch(/--assets: must start with a letter or digit and be at most 24 letters, digits, \. _ - \(got "BTC USD"\)/);
    const eq = await cli(["daily-refresh", "--assets", "=cmd"], env(prefix));
    expect(eq.code).toBe(2);
    expect(eq.stderr).toMatch(/--assets: must start with a letter or digit .*\(got "=cmd"\)/);
    // Counted, not built: the 5·10⁹-pair grid is refused at once.
    const sweep = await cli(["sweep", "--strategy", "ema_cross", "--asset", "BTC-USD", "--fast", "1..100000", "--slow", "2..100000"], env(prefix));
    expect(sweep.code).toBe(2);
    expect(sweep.stderr).toBe("ta-fleet enqueue: --fast/--slow: 4999950000 fast < slow combinations, over SWEEP_MAX_COMBINATIONS (1000000); narrow the ranges or use a larger step\n");
    const b = await cli(["daily-refresh", "--as-of", "2022-02-30"], env(prefix));
    expect(b.code).toBe(2);
    expect(b.stderr).toMatch(/--as-of: must be a real calendar date \(got "2022-02-30"\)/);
    const c = await cli(["bogus"], env(prefix));
    expect(c.code).toBe(2);
    const w = spawnTs("apps/worker/main.ts", env(prefix, { WORKER_CONCURRENCY: "zero" }));
    procs.push(w);
    expect((await w.exited).code).toBe(2);
    expect(w.stderr.join("")).toMatch(/WORKER_CONCURRENCY/);
    const fleet = new Fleet({ redisUrl: redisUrl(), prefix });
    try {
      expect(await fleet.queue(flowKind).count()).toBe(0);
      expect(await fleet.queue(backtestKind).count()).toBe(0);
    } finally {
      await fleet.close();
    }
  });

  it("--help documents every command", async () => {
    const r = await cli(["--help"], {});
    expect(r.code).toBe(0);
    for (const word of ["daily-refresh", "--assets", "--as-of", "--wait", "smoke"]) expect(r.stdout).toContain(word);
  });
});
