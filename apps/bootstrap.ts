// What every entry point needs: the frozen config, a logger, the Redis/PostgreSQL URLs (the embedded
// local stack when none are configured) and a pool, plus a shutdown registry.
import { createPool, poolCloser, type Pool } from "../db/pool.ts";
import { checkRedisCredentials, RedisAuthError, redisPinger, type RedisTarget } from "../queues/connection.ts";
import { config, type Config } from "../ops/config.ts";
import { ensureStack, SetupError, stopStack } from "../ops/embedded/stack.ts";
import { createLogger, type Logger } from "../ops/logger.ts";
import { DependencyMonitor } from "../ops/outage.ts";
import { installShutdown } from "../ops/shutdown.ts";
import { exitWithSupervisor } from "../ops/supervised.ts";
import { FLEET_PROCESS_ENV } from "../ops/supervisor/procs.ts";

export interface Runtime {
  cfg: Config;
  log: Logger;
  /** The configured Redis (URL, Sentinel or Cluster), or the embedded one's URL. */
  redisUrl: RedisTarget;
  databaseUrl: string;
  pool: Pool;
  /** This process's view of Redis and PostgreSQL: one log line per outage, not one per retry. */
  deps: DependencyMonitor;
  shutdown: ReturnType<typeof installShutdown>;
}

export async function resolveUrls(cfg: Config, log: Logger): Promise<{ redisUrl: RedisTarget; databaseUrl: string; started: Array<"redis" | "postgres"> }> {
  try {
    return await ensureStack({
      dataDir: cfg.DATA_DIR,
      redisPort: cfg.EMBED_REDIS_PORT,
      pgPort: cfg.EMBED_PG_PORT,
      redisUrl: cfg.redis,
      databaseUrl: cfg.DATABASE_URL,
      log: (m) => log.info(m),
    });
  } catch (err) {
    if (err instanceof SetupError) {
      process.stderr.write(`ta-fleet: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
}

// invalid_authorization_specification, invalid_password: the server said no to this user, it is not down.
const PG_AUTH_CODES = new Set(["28000", "28P01"]);

/**
 * A refused user or password is a setting to fix, not an outage to wait out: one attempt per server, then
 * one line naming the setting (the servers' messages name the user, never the password) and exit code 2.
 * An unreachable server passes: the dependency monitor waits for it as for any outage.
 */
async function refuseBadCredentials(redis: RedisTarget, pool: Pool): Promise<void> {
  const problems = await Promise.all([
    checkRedisCredentials(redis).then(
      () => undefined,
      (err: unknown) => (err instanceof RedisAuthError ? `${typeof redis === "string" ? "REDIS_URL" : "REDIS_USERNAME / REDIS_PASSWORD"}: authentication failed (${err.message})` : undefined),
    ),
    pool.query("SELECT 1").then(
      () => undefined,
      (err: { code?: string; message: string }) => (PG_AUTH_CODES.has(err.code ?? "") ? `DATABASE_URL: authentication failed (${err.message})` : undefined),
    ),
  ]);
  const refused = problems.filter(Boolean);
  if (!refused.length) return;
  process.stderr.write(`ta-fleet: ${refused.join("; ")}\n`);
  process.exit(2);
}

/**
 * `oneShot` commands (migrate, import) stop the embedded servers they had to start when they exit, so a
 * one-off command leaves nothing running; long-running processes leave them to `npm run stop`. Their own
 * output says how they ended, so their stop logs at debug.
 */
export async function bootstrap(service: string, opts: { oneShot?: boolean } = {}): Promise<Runtime> {
  const cfg = config();
  // Under `npm start` the supervisor names the instance (worker.2): that is what a pretty line starts with.
  const log = createLogger({ service, level: cfg.LOG_LEVEL, format: cfg.LOG_FORMAT, label: process.env[FLEET_PROCESS_ENV] ?? service });
  const { redisUrl, databaseUrl, started } = await resolveUrls(cfg, log);
  const shutdown = installShutdown(log, { timeoutMs: cfg.WORKER_SHUTDOWN_MS + 15_000, oneShot: opts.oneShot });
  exitWithSupervisor(shutdown, log);
  // Registered first, so it runs last: after every connection to the servers is closed.
  if (opts.oneShot && started.length) shutdown.add("embedded-servers", () => stopStack(cfg.DATA_DIR, started));
  const redis = redisPinger(redisUrl);
  const deps = new DependencyMonitor(log, { postgres: () => pool.query("SELECT 1"), redis: () => redis.ping() });
  const pool = createPool(databaseUrl, { applicationName: `ta-fleet:${service}`, onError: (err) => deps.report(err, "postgres client") });
  await refuseBadCredentials(redisUrl, pool);
  shutdown.add("pg-pool", poolCloser(pool));
  // Closed before the pool (closers run last-registered-first): no probe runs against a closing pool.
  shutdown.add("dependency-monitor", async () => {
    deps.close();
    await redis.close();
  });
  return { cfg, log, redisUrl, databaseUrl, pool, deps, shutdown };
}
