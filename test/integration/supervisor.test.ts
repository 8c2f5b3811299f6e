// The fleet supervisor (ops/supervisor) with real processes: restarts with backoff, crash loops, usage
// errors, shutdown bounds and the single-instance lock against a fixture Procfile of tiny scripts; then
// `npm start` / `npm run stop` themselves on a data directory of their own.
import { execFile } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { get } from "node:http";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { stopStack } from "../../ops/embedded/stack.ts";
import { planPorts } from "../../ops/supervisor/ports.ts";
import { fleetId, fleetProcesses, running, signal } from "../../ops/supervisor/procs.ts";
import { lockFile, stateFile } from "../../ops/supervisor/state.ts";
import { freePorts } from "../helpers/net.ts";
import { reap, spawnEvents, spawnTs, type EventProcess } from "../helpers/proc.ts";
import { poll, within } from "../helpers/wait.ts";

const execFileP = promisify(execFile);
const ROOT = resolve(import.meta.dirname, "../..");
const RUN = "test/fixtures/supervisor/run.ts";
const procs: EventProcess[] = [];
const dirs: string[] = [];
const squatters: Server[] = [];

afterEach(async () => {
  await reap(procs.splice(0));
  // Whatever a failed test left behind: the fixture fleets' processes (the real ones are stopped in afterAll).
  for (const dir of dirs) for (const p of fleetProcesses(fleetId(dir))) signal(p.pid, "SIGKILL");
  await Promise.all(squatters.splice(0).map((s) => new Promise((r) => s.close(r))));
});
afterAll(async () => {
  for (const dir of dirs.splice(0)) {
    await stopStack(dir).catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "ta-sup-"));
  // The embedded PostgreSQL runs as the postgres user, which must reach its directory.
  chmodSync(dir, 0o755);
  dirs.push(dir);
  return dir;
}

async function squat(port: number): Promise<void> {
  const s = createServer();
  squatters.push(s);
  await new Promise<void>((r) => s.listen(port, "127.0.0.1", () => r()));
}

const liveness = (port: number) =>
  new Promise<number>((r) => {
    const req = get({ host: "127.0.0.1", port, path: "/health/liveness", agent: false, timeout: 2_000 }, (res) => {
      res.resume();
      r(res.statusCode ?? 0);
    });
    req.once("timeout", () => req.destroy());
    req.once("error", () => r(0));
  });

/** A `ps`-style scan: every live process of a data directory — by fleet id, by command line, or by cwd. */
function leftovers(dir: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync("/proc")) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid || !running(pid)) continue;
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
      const env = readFileSync(`/proc/${pid}/environ`, "utf8").split("\0");
      const cwd = readlinkSync(`/proc/${pid}/cwd`);
      if (env.includes(`TA_FLEET_ID=${dir}`) || cmd.includes(dir) || cwd.startsWith(dir)) found.push(`${pid} ${cmd}`);
    } catch {
      // exited meanwhile
    }
  }
  return found;
}

const childEvents = (p: EventProcess, event: string, name: string) => p.events.filter((e) => e.event === event && e.process === name);
const pidOf = (p: EventProcess, name: string) => childEvents(p, "child-up", name).at(-1)?.pid as number;

describe("supervisor over a fixture Procfile", () => {
  async function supervise(formation: string, env: Record<string, string> = {}) {
    const dir = tempDir();
    const bases: Record<string, number> = {};
    for (const part of formation.split(",")) {
      const [type, n] = part.split("=");
      bases[type!] = await freePorts(Number(n));
    }
    const p = spawnTs(RUN, { SUP_DATA_DIR: dir, SUP_FORMATION: formation, SUP_PORTS: JSON.stringify(bases), ...env });
    procs.push(p);
    return { p, dir };
  }
  const upAll = (p: EventProcess) => p.waitFor("fleet started", {}, 20_000);

  it("a child killed with kill -9 is restarted; the others keep their pids; SIGTERM stops all, exit 0", async () => {
    const { p, dir } = await supervise("steady=3");
    await upAll(p);
    expect(childEvents(p, "child-start", "release")).toHaveLength(1);
    const before = { 1: pidOf(p, "steady.1"), 2: pidOf(p, "steady.2"), 3: pidOf(p, "steady.3") };
    process.kill(before[2], "SIGKILL");
    const restarted = await poll(() => childEvents(p, "child-up", "steady.2").find((e) => e.pid !== before[2]), "steady.2 restarted");
    expect(childEvents(p, "child-up", "steady.1")).toHaveLength(1);
    expect(childEvents(p, "child-up", "steady.3")).toHaveLength(1);
    expect(running(before[1]) && running(before[3])).toBe(true);
    const state = JSON.parse(readFileSync(stateFile(dir), "utf8")) as { supervisor: number; children: Array<{ type: string; n: number; pid: number }> };
    expect(state.supervisor).toBe(p.pid);
    expect(state.children.find((c) => c.n === 2)?.pid).toBe(restarted.pid);

    p.kill("SIGTERM");
    expect(await within(p.exited, 10_000, "supervisor exit")).toEqual({ code: 0, signal: null });
    for (const pid of [...Object.values(before), restarted.pid as number]) expect(running(pid), `pid ${pid}`).toBe(false);
    expect(leftovers(dir)).toEqual([]);
    expect(existsSync(lockFile(dir)) || existsSync(stateFile(dir))).toBe(false);
  });

  it("SIGINT: a child that ignores SIGTERM is killed at the shutdown bound; exit 0, nothing left", async () => {
    const { p, dir } = await supervise("steady=1,stubborn=1", { SUP_STOP_MS: "1500" });
    await upAll(p);
    const t0 = Date.now();
    p.kill("SIGINT");
    expect(await within(p.exited, 10_000, "supervisor exit")).toEqual({ code: 0, signal: null });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1_400);
    expect(childEvents(p, "child-ignores-sigterm", "stubborn.1")).toHaveLength(1);
    expect(leftovers(dir)).toEqual([]);
  });

  it("a second signal kills the children at once (exit 130)", async () => {
    const { p, dir } = await supervise("stubborn=1", { SUP_STOP_MS: "60000" });
    await upAll(p);
    p.kill("SIGTERM");
    await p.waitFor("child-ignores-sigterm");
    p.kill("SIGTERM");
    expect(await within(p.exited, 5_000, "supervisor exit")).toEqual({ code: 130, signal: null });
    expect(leftovers(dir)).toEqual([]);
  });

  it("a child that keeps exiting 1 is restarted with backoff until the crash loop stops the fleet: exit 1, no child left", async () => {
    const { p, dir } = await supervise("steady=1,crashy=1", {
      SUP_BACKOFF: JSON.stringify({ initialMs: 50, maxMs: 200, resetAfterMs: 60_000 }),
      SUP_CRASH_LOOP: JSON.stringify({ restarts: 3, windowMs: 60_000 }),
    });
    expect(await within(p.exited, 20_000, "supervisor exit")).toEqual({ code: 1, signal: null });
    expect(childEvents(p, "child-up", "crashy.1")).toHaveLength(4);
    const delays = p.events.filter((e) => e.process === "crashy.1" && typeof e.restartInMs === "number").map((e) => e.restartInMs);
    expect(delays).toEqual([50, 100, 200]);
    expect(p.events.find((e) => e.level === 50)?.msg).toMatch(/crashy\.1 is in a crash loop: it exited 4 times within 60 s/);
    expect(childEvents(p, "child-up", "steady.1")).toHaveLength(1);
    expect(leftovers(dir)).toEqual([]);
  });

  it("a child exiting 2 at start is not restarted: the fleet stops, exit 1", async () => {
    const { p, dir } = await supervise("steady=1,usage=1");
    expect(await within(p.exited, 10_000, "supervisor exit")).toEqual({ code: 1, signal: null });
    expect(childEvents(p, "child-start", "usage.1")).toHaveLength(1);
    expect(p.events.find((e) => e.level === 50)?.msg).toMatch(/usage\.1 \(pid \d+\) exited with code 2 during start-up/);
    expect(leftovers(dir)).toEqual([]);
  });

  it("a child exiting 2 after start-up is not restarted either: the fleet stops, exit 1", async () => {
    const { p, dir } = await supervise("steady=1,late=1");
    expect(await within(p.exited, 10_000, "supervisor exit")).toEqual({ code: 1, signal: null });
    expect(childEvents(p, "child-start", "late.1")).toHaveLength(1);
    expect(p.events.find((e) => e.level === 50)?.msg).toMatch(/late\.1 \(pid \d+\) exited with code 2 \(bad configuration or usage\): not restarting it/);
    expect(leftovers(dir)).toEqual([]);
  });

  it("a failing release starts nothing else: exit 1", async () => {
    const { p, dir } = await supervise("steady=1", { FIXTURE_RELEASE_EXIT: "3" });
    expect(await within(p.exited, 10_000, "supervisor exit")).toEqual({ code: 1, signal: null });
    expect(p.events.find((e) => e.level === 50)?.msg).toMatch(/release \(.*\) exited with code 3; nothing else was started/);
    expect(childEvents(p, "child-start", "steady.1")).toHaveLength(0);
    expect(leftovers(dir)).toEqual([]);
  });

  it("an unknown process type is refused (exit 2); a stale lock is taken over", async () => {
    const bad = await supervise("steady=1,nope=1");
    expect((await within(bad.p.exited, 10_000, "exit")).code).toBe(2);
    expect(bad.p.stderr.join("")).toMatch(/FLEET_FORMATION: unknown process type "nope"/);

    const { p, dir } = await supervise("steady=1");
    await upAll(p);
    const second = spawnTs(RUN, { SUP_DATA_DIR: dir, SUP_FORMATION: "steady=1", SUP_PORTS: "{}" });
    procs.push(second);
    expect((await within(second.exited, 10_000, "second exit")).code).toBe(1);
    expect(second.stderr.join("")).toMatch(new RegExp(`a fleet is already running on ${dir} \\(pid ${p.pid}\\); stop it with: DATA_DIR=${dir} npm run stop`));
    p.kill("SIGTERM");
    await within(p.exited, 10_000, "first exit");

    // A lock whose pid is gone (kill -9 leaves one behind): the next supervisor takes it over.
    writeFileSync(lockFile(dir), `${p.pid}\n`);
    const next = spawnTs(RUN, { SUP_DATA_DIR: dir, SUP_FORMATION: "steady=1", SUP_PORTS: JSON.stringify({ steady: await freePorts() }) });
    procs.push(next);
    await upAll(next);
    expect(readFileSync(lockFile(dir), "utf8").trim()).toBe(String(next.pid));
    next.kill("SIGTERM");
    expect((await within(next.exited, 10_000, "exit")).code).toBe(0);
  });
});

describe("health port plan", () => {
  const formation = [
    { type: "web", n: 1 },
    { type: "worker", n: 1 },
    { type: "worker", n: 2 },
    { type: "scheduler", n: 1 },
  ];
  it("refuses overlapping ranges, reserved ports and a second instance of a single-port type, naming the variables", async () => {
    const base = await freePorts(4);
    const sources = (scheduler: number) => ({
      web: { variable: "WEB_PORT", base: base + 3, single: true },
      worker: { variable: "HEALTH_PORT_WORKER", base },
      scheduler: { variable: "HEALTH_PORT_SCHEDULER", base: scheduler },
    });
    const plan = await planPorts(formation, sources(base + 2), "127.0.0.1");
    expect(Object.fromEntries(plan)).toEqual({ "web.1": base + 3, "worker.1": base, "worker.2": base + 1, "scheduler.1": base + 2 });
    await expect(planPorts(formation, sources(base + 1), "127.0.0.1")).rejects.toThrow(
      `HEALTH_PORT_SCHEDULER: scheduler.1 would use ${base + 1}, which HEALTH_PORT_WORKER gives worker.2; set HEALTH_PORT_SCHEDULER or HEALTH_PORT_WORKER`,
    );
    await expect(planPorts(formation, sources(base + 2), "127.0.0.1", [{ variable: "EMBED_PG_PORT", port: base + 1 }])).rejects.toThrow(
      `HEALTH_PORT_WORKER: worker.2 would use ${base + 1}, which EMBED_PG_PORT uses; set HEALTH_PORT_WORKER or EMBED_PG_PORT`,
    );
    await expect(planPorts([...formation, { type: "web", n: 2 }], sources(base + 2), "127.0.0.1")).rejects.toThrow(
      "FLEET_FORMATION: web listens on WEB_PORT, so only one web can run",
    );
  });
});

describe("npm start / npm run stop", () => {
  /** A fleet of one test's own: a fresh data directory (embedded servers, lock, state) and free ports. */
  async function ownFleet() {
    const dir = tempDir();
    const ports = {
      EMBED_REDIS_PORT: await freePorts(),
      EMBED_PG_PORT: await freePorts(),
      WEB_PORT: await freePorts(),
      HEALTH_PORT_WORKER: await freePorts(2),
      HEALTH_PORT_SCHEDULER: await freePorts(),
      HEALTH_PORT_BOT: await freePorts(),
    };
    // Empty means unset (ops/config.ts): the fleet runs on its own embedded servers under `dir`.
    const env = {
      ...Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)])),
      DATA_DIR: dir,
      LOG_PRETTY: "0",
      WORKER_SHUTDOWN_MS: "3000",
      REDIS_URL: "",
      DATABASE_URL: "",
      HEALTH_PORT: "",
      PORT: "",
      FLEET_FORMATION: "",
    };
    return {
      dir,
      ports,
      env,
      start() {
        const p = spawnTs("apps/cli/start.ts", env);
        procs.push(p);
        return p;
      },
      probePorts: () => [ports.WEB_PORT, ports.HEALTH_PORT_WORKER, ports.HEALTH_PORT_WORKER + 1, ports.HEALTH_PORT_SCHEDULER, ports.HEALTH_PORT_BOT],
    };
  }

  it("a port already in use is refused before anything starts, naming the variable", async () => {
    const { dir, ports, start } = await ownFleet();
    await squat(ports.HEALTH_PORT_WORKER + 1);
    const p = start();
    expect((await within(p.exited, 30_000, "start exit")).code).toBe(2);
    expect(p.stderr.join("")).toContain(
      `HEALTH_PORT_WORKER: worker.2 would use ${ports.HEALTH_PORT_WORKER + 1}, which is in use (another fleet?); set HEALTH_PORT_WORKER`,
    );
    await Promise.all(squatters.splice(0).map((s) => new Promise((r) => s.close(r))));
    await squat(ports.WEB_PORT);
    const q = start();
    expect((await within(q.exited, 30_000, "start exit")).code).toBe(2);
    expect(q.stderr.join("")).toMatch(/WEB_PORT: web\.1 would use \d+, which is in use/);
    expect(leftovers(dir)).toEqual([]);
    expect(existsSync(join(dir, "redis")) || existsSync(lockFile(dir))).toBe(false);
  });

  it("a second start is refused; after kill -9 of the supervisor, npm run stop leaves nothing behind", { timeout: 150_000 }, async () => {
    const { dir, ports, env, start, probePorts } = await ownFleet();
    const first = start();
    await first.waitFor("fleet up: bull-board URL and credentials", {}, 120_000);
    for (const port of probePorts()) expect(await liveness(port), `port ${port}`).toBe(200);

    const second = start();
    expect((await within(second.exited, 30_000, "second start exit")).code).toBe(1);
    expect(second.stderr.join("")).toMatch(new RegExp(`a fleet is already running on ${dir} \\(pid ${first.pid}\\); stop it with: DATA_DIR=${dir} npm run stop`));
    expect(running(first.pid)).toBe(true);
    expect(await liveness(ports.WEB_PORT)).toBe(200);

    first.kill("SIGKILL");
    await first.exited;
    const stop = await execFileP(process.execPath, ["--import", "tsx", "apps/cli/stop.ts"], { cwd: ROOT, env: { ...process.env, ...env }, timeout: 90_000 });
    expect(stop.stdout).toMatch(/stopped local redis and postgres/);
    expect(leftovers(dir)).toEqual([]);
    expect(existsSync(lockFile(dir)) || existsSync(stateFile(dir))).toBe(false);
  });

  it("SIGTERM to npm start stops every process and the embedded servers: exit 0, nothing left", { timeout: 150_000 }, async () => {
    const { dir, env, probePorts } = await ownFleet();
    // Through npm itself: npm passes the signal on to its script, which must be the supervisor (exec), not
    // a shell that would die and leave the fleet running.
    const p = spawnEvents("npm", ["start"], env);
    procs.push(p);
    await p.waitFor("fleet up: bull-board URL and credentials", {}, 120_000);
    p.kill("SIGTERM");
    expect(await within(p.exited, 60_000, "start exit")).toEqual({ code: 0, signal: null });
    expect(leftovers(dir)).toEqual([]);
    for (const port of probePorts()) expect(await liveness(port)).toBe(0);
  });
});
