// Wrong credentials are a setting to fix, not an outage: a worker started with a refused Redis ACL user or
// PostgreSQL password exits at once with one line naming the setting, tries each server once, and never
// prints the password; with the right ones it starts. Both servers check passwords for real: a Redis with
// an ACL user (default user off) and a PostgreSQL cluster of its own initialised with scram-sha-256.
import { chmodSync, chownSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { postgresBinDir } from "../../ops/embedded/system.ts";
import { freePorts } from "../helpers/net.ts";
import { reap, spawnTs, type EventProcess } from "../helpers/proc.ts";
import { RedisTopologyUnderTest, redisCli } from "../helpers/redis-topology.ts";
import { uniquePrefix } from "../helpers/redis.ts";
import { poll } from "../helpers/wait.ts";

const execFileP = promisify(execFile);
const REDIS_PW = "r3dis-Secret-pw";
const PG_PW = "pg-Secret-pw-42";
const WRONG = "wrong-Secret-pw";

let redis: RedisTopologyUnderTest;
let pgDir: string;
let pgPort: number;
const procs: EventProcess[] = [];

const asPostgres = (bin: string, args: string[]) => execFileP("runuser", ["-u", "postgres", "--", join(postgresBinDir()!, bin), ...args], { timeout: 120_000 });

beforeAll(async () => {
  redis = await RedisTopologyUnderTest.standalone(["--user", "default", "off", "--user", "fleet", "on", `>${REDIS_PW}`, "~*", "&*", "+@all"]);
  pgDir = mkdtempSync(join(tmpdir(), "ta-fleet-scram-"));
  chmodSync(pgDir, 0o755);
  const pwfile = join(pgDir, "pw");
  writeFileSync(pwfile, `${PG_PW}\n`);
  chownSync(pgDir, ...postgresIds());
  chownSync(pwfile, ...postgresIds());
  pgPort = await freePorts(1);
  await asPostgres("initdb", ["-D", join(pgDir, "data"), "-U", "postgres", "--auth=scram-sha-256", `--pwfile=${pwfile}`, "-E", "UTF8", "--locale=C"]);
  await asPostgres("pg_ctl", ["-D", join(pgDir, "data"), "-l", join(pgDir, "pg.log"), "-w", "-t", "60", "-o", `-c listen_addresses=127.0.0.1 -p ${pgPort} -k ${pgDir} -c fsync=off`, "start"]);
}, 180_000);

afterEach(() => reap(procs.splice(0)));

afterAll(async () => {
  await redis?.stop();
  if (pgDir) {
    await asPostgres("pg_ctl", ["-D", join(pgDir, "data"), "-m", "immediate", "stop"]).catch(() => {});
    rmSync(pgDir, { recursive: true, force: true });
  }
});

function postgresIds(): [number, number] {
  const [, , uid, gid] = readFileSync("/etc/passwd", "utf8").split("\n").find((l) => l.startsWith("postgres:"))!.split(":");
  return [Number(uid), Number(gid)];
}

const redisUrl = (pw: string) => `redis://fleet:${pw}@127.0.0.1:${redis.nodes[0]}`;
const pgUrl = (pw: string) => `postgres://postgres:${pw}@127.0.0.1:${pgPort}/postgres`;

function worker(env: Record<string, string>): EventProcess {
  const p = spawnTs(resolve(import.meta.dirname, "../../apps/worker/main.ts"), { QUEUE_PREFIX: uniquePrefix("cred"), LOG_PRETTY: "false", NODE_ENV: "test", WORKER_QUEUES: "maintenance", ...env });
  procs.push(p);
  return p;
}

/** Failed AUTH attempts the Redis server logged (ACL LOG entries carry a count each). */
async function deniedAuths(): Promise<number> {
  const lines = (await redisCli(redis.nodes[0]!, "--user", "fleet", "--pass", REDIS_PW, "--no-auth-warning", "ACL", "LOG")).split("\n");
  return lines.reduce((n, line, i) => (line === "count" ? n + Number(lines[i + 1]) : n), 0);
}

describe("credentials", () => {
  it("both servers really check: the wrong passwords are refused outside the fleet too", async () => {
    await expect(redisCli(redis.nodes[0]!, "--user", "fleet", "--pass", WRONG, "--no-auth-warning", "PING")).resolves.toMatch(/NOAUTH/);
    const log = await execFileP("psql", [pgUrl(WRONG), "-c", "SELECT 1"]).catch((err: { stderr: string }) => err.stderr);
    expect(log).toMatch(/password authentication failed/);
  });

  it("a refused Redis ACL password: the worker exits 2 at once with one line naming REDIS_URL, one attempt, no password", { timeout: 60_000 }, async () => {
    const before = await deniedAuths();
    const started = Date.now();
    const p = worker({ REDIS_URL: redisUrl(WRONG), DATABASE_URL: pgUrl(PG_PW) });
    expect(await p.exited).toEqual({ code: 2, signal: null });
    const elapsed = Date.now() - started;
    const out = `${p.stderr.join("")}${JSON.stringify(p.events)}`;
    expect(p.stderr.join("")).toMatch(/^ta-fleet: REDIS_URL: authentication failed \(WRONGPASS[^\n]*\)\n$/);
    expect(out).not.toContain(WRONG);
    expect(await deniedAuths()).toBe(before + 1);
    expect(elapsed).toBeLessThan(45_000);
  });

  it("a refused PostgreSQL password (scram-sha-256): exits 2 with one line naming DATABASE_URL, no password", { timeout: 60_000 }, async () => {
    const p = worker({ REDIS_URL: redisUrl(REDIS_PW), DATABASE_URL: pgUrl(WRONG) });
    expect(await p.exited).toEqual({ code: 2, signal: null });
    const err = p.stderr.join("");
    expect(err).toMatch(/^ta-fleet: DATABASE_URL: authentication failed \(password authentication failed for user "postgres"\)\n$/);
    expect(`${err}${JSON.stringify(p.events)}`).not.toContain(WRONG);
    const failures = readFileSync(join(pgDir, "pg.log"), "utf8").match(/password authentication failed/g) ?? [];
    // One from the check above, one from the worker's single attempt.
    expect(failures.length).toBeLessThanOrEqual(2);
  });

  it("the right credentials: the worker starts and its password appears nowhere in its output", { timeout: 120_000 }, async () => {
    const p = worker({ REDIS_URL: redisUrl(REDIS_PW), DATABASE_URL: pgUrl(PG_PW) });
    await p.waitFor("worker ready", {}, 90_000);
    p.kill("SIGTERM");
    await poll(() => p.child.exitCode !== null || p.child.signalCode !== null, "the worker to stop", 60_000, 100);
    const out = `${p.stderr.join("")}${JSON.stringify(p.events)}`;
    expect(out).not.toContain(REDIS_PW);
    expect(out).not.toContain(PG_PW);
  });
});
