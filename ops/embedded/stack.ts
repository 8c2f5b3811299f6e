// The embedded default: when REDIS_URL / DATABASE_URL are unset, start (or reuse) local servers under a
// data directory and hand back URLs; when they are set, touch nothing local.
import type { RedisTopology } from "../config.ts";
import { startPostgres, stopPostgres, type PostgresOptions } from "./postgres.ts";
import { startRedis, stopRedis } from "./redis.ts";

export { SetupError } from "./system.ts";

export interface StackOptions extends PostgresOptions {
  dataDir: string;
  redisPort: number;
  pgPort: number;
  /** The configured Redis (URL, Sentinel or Cluster): nothing local is started for it. */
  redisUrl?: RedisTopology;
  databaseUrl?: string;
  log?: (msg: string) => void;
}

/** `R`: what the caller may configure; a URL-only caller (the test setup) gets a URL back. */
export interface Stack<R extends RedisTopology = RedisTopology> {
  redisUrl: R | string;
  databaseUrl: string;
  /** Servers started by this call (not reused, not external): the ones the caller should stop. */
  started: Array<"redis" | "postgres">;
}

export async function ensureStack<R extends RedisTopology = RedisTopology>(opts: StackOptions & { redisUrl?: R }): Promise<Stack<R>> {
  const log = opts.log ?? (() => {
    // Quiet unless the caller wants progress lines.
  });
  const started: Stack["started"] = [];
  let redisUrl: R | string | undefined = opts.redisUrl;
  if (!redisUrl) {
    const r = await startRedis(opts.dataDir, opts.redisPort, log);
    if (r.startedHere) started.push("redis");
    redisUrl = r.url;
  }
  let databaseUrl = opts.databaseUrl;
  if (!databaseUrl) {
    try {
      const p = await startPostgres(opts.dataDir, opts.pgPort, log, opts);
      if (p.startedHere) started.push("postgres");
      databaseUrl = p.url;
    } catch (err) {
      // No half-started stack: undo what this call started before reporting.
      await stopStack(opts.dataDir, started);
      throw err;
    }
  }
  return { redisUrl, databaseUrl, started };
}

/** Stops the named local servers (default: both) of a data directory; returns what was running. */
export async function stopStack(dataDir: string, which: Array<"redis" | "postgres"> = ["redis", "postgres"]): Promise<string[]> {
  const stopped: string[] = [];
  const errors: unknown[] = [];
  for (const name of which) {
    try {
      if (await (name === "redis" ? stopRedis(dataDir) : stopPostgres(dataDir))) stopped.push(name);
    } catch (err) {
      errors.push(err);
    }
  }
  if (errors.length) throw new AggregateError(errors, `stopping the local stack failed: ${errors.map(String).join("; ")}`);
  return stopped;
}
