// A local redis-server for development and tests: AOF on, noeviction (BullMQ requires it), loopback only.
import { mkdirSync } from "node:fs";
import { resolve } from "node:path";
import { portOpen, redisPing, waitFor } from "./net.ts";
import { alive, livePid } from "./process.ts";
import { SetupError, aptInstall, run, which } from "./system.ts";

export interface LocalServer {
  url: string;
  /** False when a server of ours was already running and is reused. */
  startedHere: boolean;
}

const paths = (dataDir: string) => {
  const dir = resolve(dataDir, "redis");
  return { dir, pidFile: `${dir}/redis.pid`, logFile: `${dir}/redis.log` };
};

export async function startRedis(dataDir: string, port: number, log: (m: string) => void): Promise<LocalServer> {
  const { dir, pidFile, logFile } = paths(dataDir);
  const url = `redis://127.0.0.1:${port}`;
  if (livePid(pidFile, "redis-server") && (await redisPing(port))) return { url, startedHere: false };
  if (await portOpen(port)) {
    throw new SetupError(
      `port ${port} is taken by a process that is not ta-fleet's redis (${dir}); free it, set EMBED_REDIS_PORT, or set REDIS_URL`,
    );
  }
  if (!which("redis-server")) await aptInstall(["redis-server"], log);
  mkdirSync(dir, { recursive: true });
  // prettier-ignore
  await run("redis-server", [
    "--bind", "127.0.0.1", "--port", String(port), "--daemonize", "yes",
    "--pidfile", pidFile, "--logfile", logFile, "--dir", dir,
    "--appendonly", "yes", "--maxmemory-policy", "noeviction", "--save", "",
  ]);
  await waitFor(() => redisPing(port), 15_000, `redis-server on port ${port} (log: ${logFile})`);
  return { url, startedHere: true };
}

export async function stopRedis(dataDir: string): Promise<boolean> {
  const { pidFile } = paths(dataDir);
  const pid = livePid(pidFile, "redis-server");
  if (pid === undefined) return false;
  process.kill(pid, "SIGTERM");
  await waitFor(async () => !alive(pid), 15_000, `redis-server pid ${pid} to exit`);
  return true;
}
