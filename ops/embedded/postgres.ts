// A local PostgreSQL cluster for development and tests. PostgreSQL refuses to run as root, so as root the
// server runs as the `postgres` OS user; setsid keeps it out of the terminal's process group so Ctrl-C
// reaches only the supervisor, which then stops it in order.
import { chownSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import pg from "pg";
import { portOpen, waitFor } from "./net.ts";
import { alive, livePid } from "./process.ts";
import type { LocalServer } from "./redis.ts";
import { SetupError, aptInstall, isRoot, postgresBinDir, run } from "./system.ts";

export const EMBEDDED_DB = "tafleet";

const paths = (dataDir: string) => {
  const dir = resolve(dataDir, "pg");
  return { dir, data: `${dir}/data`, sock: `${dir}/sock`, logFile: `${dir}/pg.log`, pidFile: `${dir}/data/postmaster.pid` };
};

async function asOwner(bin: string, args: string[], timeoutMs = 120_000) {
  return isRoot() ? run("setsid", ["-w", "runuser", "-u", "postgres", "--", bin, ...args], { timeoutMs }) : run(bin, args, { timeoutMs });
}

function postgresUid(): { uid: number; gid: number } {
  const line = readFileSync("/etc/passwd", "utf8").split("\n").find((l) => l.startsWith("postgres:"));
  if (!line) throw new SetupError("PostgreSQL is installed but the postgres OS user is missing");
  const [, , uid, gid] = line.split(":");
  return { uid: Number(uid), gid: Number(gid) };
}

export interface PostgresOptions {
  /** Trade durability for speed (tests): fsync and synchronous commit off. */
  ephemeral?: boolean;
}

export async function startPostgres(dataDir: string, port: number, log: (m: string) => void, opts: PostgresOptions = {}): Promise<LocalServer> {
  const p = paths(dataDir);
  const url = `postgres://postgres@127.0.0.1:${port}/${EMBEDDED_DB}`;
  if (livePid(p.pidFile, "postgres") && (await portOpen(port))) {
    await ensureDatabase(port);
    return { url, startedHere: false };
  }
  if (await portOpen(port)) {
    throw new SetupError(
      `port ${port} is taken by a process that is not ta-fleet's PostgreSQL (${p.data}); free it, set EMBED_PG_PORT, or set DATABASE_URL`,
    );
  }
  let bin = postgresBinDir();
  if (!bin) {
    await aptInstall(["postgresql"], log);
    bin = postgresBinDir();
    if (!bin) throw new SetupError("apt-get installed postgresql but no server binaries were found under /usr/lib/postgresql");
  }
  for (const d of [p.dir, p.sock]) mkdirSync(d, { recursive: true, mode: 0o700 });
  if (isRoot()) {
    const { uid, gid } = postgresUid();
    for (const d of [p.dir, p.sock]) chownSync(d, uid, gid);
    await run("runuser", ["-u", "postgres", "--", "test", "-w", p.dir]).catch((err) => {
      throw new SetupError(`the postgres OS user cannot write ${p.dir} (a parent directory is not traversable); set DATA_DIR elsewhere`, { cause: err });
    });
  }
  if (!existsSync(`${p.data}/PG_VERSION`)) {
    log(`initialising PostgreSQL cluster in ${p.data}`);
    await asOwner(`${bin}/initdb`, ["-D", p.data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C"]);
  }
  const settings = [`-c listen_addresses=127.0.0.1`, `-p ${port}`, `-k ${p.sock}`, `-c max_connections=300`];
  if (opts.ephemeral) settings.push("-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off");
  await asOwner(`${bin}/pg_ctl`, ["-D", p.data, "-l", p.logFile, "-w", "-t", "60", "-o", settings.join(" "), "start"]);
  await waitFor(() => portOpen(port), 15_000, `PostgreSQL on port ${port} (log: ${p.logFile})`);
  await ensureDatabase(port);
  return { url, startedHere: true };
}

async function ensureDatabase(port: number): Promise<void> {
  const client = new pg.Client({ host: "127.0.0.1", port, user: "postgres", database: "postgres" });
  await client.connect();
  try {
    const { rowCount } = await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [EMBEDDED_DB]);
    if (!rowCount) await client.query(`CREATE DATABASE ${client.escapeIdentifier(EMBEDDED_DB)}`);
  } finally {
    await client.end();
  }
}

export async function stopPostgres(dataDir: string): Promise<boolean> {
  const p = paths(dataDir);
  const pid = livePid(p.pidFile, "postgres");
  if (pid === undefined) return false;
  const bin = postgresBinDir();
  // pg_ctl failing (binaries gone, wrong owner) falls back to the signal pg_ctl itself would send.
  if (bin) await asOwner(`${bin}/pg_ctl`, ["-D", p.data, "-m", "fast", "-w", "-t", "60", "stop"]).catch(() => process.kill(pid, "SIGINT"));
  else process.kill(pid, "SIGINT");
  await waitFor(async () => !alive(pid), 30_000, `PostgreSQL pid ${pid} to exit`);
  return true;
}
