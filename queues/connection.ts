// Redis connections for BullMQ, for each topology the config describes (ops/config.ts redisTopology): a URL
// (standalone, ACL user in it), Sentinel or Cluster. Workers need maxRetriesPerRequest: null (blocking
// commands must wait out a reconnect or a failover rather than fail), and BullMQ 6 no longer ships ioredis,
// so the fleet creates them here and nowhere else.
import { Cluster, Redis as Standalone, type ClusterOptions, type RedisOptions } from "ioredis";
import type { HostPort, RedisTopology } from "../ops/config.ts";

/** A connection BullMQ accepts: a standalone/Sentinel client or a Cluster client (same command API). */
export type Redis = Standalone | Cluster;
/** What to connect to: a `redis://` / `rediss://` URL or the configured Sentinel/Cluster topology. */
export type RedisTarget = RedisTopology;

// Reconnect forever with a capped delay: a restart or a failover must not kill the fleet.
const retry = (times: number) => Math.min(200 * times, 5_000);

const hosts = (list: readonly HostPort[]) => list.map(({ host, port }) => ({ host, port }));

function nodeOptions(target: Exclude<RedisTarget, string>, name: string): RedisOptions {
  return {
    connectionName: name,
    ...(target.username ? { username: target.username } : {}),
    ...(target.password ? { password: target.password } : {}),
  };
}

/** One ioredis client for `target`; the options tune it (the pinger's fail-fast ones, the credential check's no-retry). */
function connect(target: RedisTarget, name: string, { retryStrategy = retry, ...extra }: Omit<RedisOptions, "retryStrategy"> & { retryStrategy?: (times: number) => number | null }): Redis {
  if (typeof target === "string") return new Standalone(target, { connectionName: name, retryStrategy, ...extra });
  if (target.kind === "sentinel") {
    return new Standalone({
      ...nodeOptions(target, name),
      sentinels: hosts(target.sentinels),
      name: target.master,
      ...(target.sentinelPassword ? { sentinelPassword: target.sentinelPassword } : {}),
      // Asking the sentinels again until one names a master is how a failover is waited out.
      sentinelRetryStrategy: retryStrategy,
      retryStrategy,
      // No failoverDetector: its +switch-master handler ends a client that is still retrying the sentinels
      // (ioredis 6: "Connection is closed", status end). The dead master's socket closing is the signal.
      ...extra,
    });
  }
  const options: ClusterOptions = {
    clusterRetryStrategy: retryStrategy,
    enableReadyCheck: true,
    // A failover moves slots: refresh the map promptly rather than bounce MOVED replies for long.
    slotsRefreshInterval: 2_000,
    // A command meets CLUSTERDOWN / closed connections until a replica is promoted (cluster-node-timeout
    // plus an election): about 20 s of redirections at 200 ms each outlast that instead of failing the job.
    maxRedirections: 100,
    retryDelayOnClusterDown: 200,
    retryDelayOnFailover: 200,
    redisOptions: { ...nodeOptions(target, name), ...extra },
    ...(extra.enableOfflineQueue === false ? { enableOfflineQueue: false } : {}),
    ...(extra.lazyConnect ? { lazyConnect: true } : {}),
  };
  return new Cluster(hosts(target.nodes), options);
}

/** The URL of a URL target, for tools that hand Redis to child processes as REDIS_URL (the benchmarks). */
export function redisUrlOf(target: RedisTarget, who: string): string {
  if (typeof target === "string") return target;
  throw new Error(`${who} needs REDIS_URL: a ${target.kind} topology is not supported there`);
}

export function createRedis(target: RedisTarget, name = "ta-fleet"): Redis {
  return connect(target, name, { maxRetriesPerRequest: null, enableReadyCheck: true });
}

/**
 * A PING for health checks on a connection of its own, connected on first use and failing fast while Redis
 * is down (no offline queue): a probe must neither queue behind a worker's blocking commands nor wait.
 */
export function redisPinger(target: RedisTarget, name = "ta-fleet:health"): { ping(): Promise<void>; close(): Promise<void> } {
  let redis: Redis | undefined;
  return {
    async ping() {
      if (!redis) {
        redis = connect(target, name, { lazyConnect: true, maxRetriesPerRequest: 1, enableOfflineQueue: false });
        redis.on("error", () => {
          // Its reconnect errors are what the probe's own failures already say.
        });
      }
      if (redis.status === "wait") await redis.connect();
      const pong = await redis.ping();
      if (pong !== "PONG") throw new Error(`unexpected PING answer ${JSON.stringify(pong)}`);
    },
    close: async () => {
      if (redis) await closeRedis(redis);
    },
  };
}

/** The server refused this client's user or password (or its ACL rights): a setting to fix, not an outage. */
export class RedisAuthError extends Error {
  override name = "RedisAuthError";
}

const AUTH_REPLY = /^(WRONGPASS|NOAUTH|NOPERM)\b/;

/**
 * One connection attempt and one PING, no retries: rejects with RedisAuthError when the credentials are
 * refused; resolves otherwise, an unreachable server included (that is an outage, waited out elsewhere).
 */
export async function checkRedisCredentials(target: RedisTarget, timeoutMs = 5_000): Promise<void> {
  const redis = connect(target, "ta-fleet:credentials", { lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, connectTimeout: timeoutMs, retryStrategy: () => null });
  let refused: Error | undefined;
  redis.on("error", (err: Error) => {
    if (AUTH_REPLY.test(err.message)) refused ??= err;
  });
  try {
    await redis.connect();
    await redis.ping();
  } catch (err) {
    if (AUTH_REPLY.test((err as Error).message)) refused ??= err as Error;
  } finally {
    redis.disconnect();
  }
  if (refused) throw new RedisAuthError(refused.message.split("\n")[0]!, { cause: refused });
}

/** quit() once; fall back to disconnect() if quit cannot complete in time. */
export async function closeRedis(redis: Redis, timeoutMs = 2_000): Promise<void> {
  if (redis.status === "end") return;
  const timer = new Promise<"timeout">((r) => setTimeout(() => r("timeout"), timeoutMs).unref());
  // A failed quit (connection already broken) ends in disconnect() below, like a slow one.
  const result = await Promise.race([redis.quit().catch(() => "error"), timer]);
  if (result !== "OK") redis.disconnect();
}

/** Deletes every key under a BullMQ prefix (a test's or a benchmark's), in SCAN batches on every master. */
export async function deletePrefixKeys(redis: Redis, prefix: string): Promise<void> {
  for (const node of redis instanceof Cluster ? redis.nodes("master") : [redis]) {
    let cursor = "0";
    do {
      const [next, keys] = await node.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1000);
      cursor = next;
      // One UNLINK per key: a Cluster rejects a multi-key command across slots.
      if (keys.length) await (redis instanceof Cluster ? Promise.all(keys.map((k) => redis.unlink(k))) : node.unlink(...keys));
    } while (cursor !== "0");
  }
}
