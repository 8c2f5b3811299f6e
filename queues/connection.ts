// Redis connections for BullMQ. Workers need maxRetriesPerRequest: null (blocking commands must wait out a
// reconnect rather than fail), and BullMQ 6 no longer ships ioredis, so the fleet creates them here.
import { Redis } from "ioredis";

export type { Redis };

export function createRedis(url: string, name = "ta-fleet"): Redis {
  return new Redis(url, {
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
    connectionName: name,
    // Reconnect forever with a capped delay: Redis restarts must not kill the fleet.
    retryStrategy: (times) => Math.min(200 * times, 5_000),
  });
}

/**
 * A PING for health checks on a connection of its own, connected on first use and failing fast while Redis
 * is down (no offline queue): a probe must neither queue behind a worker's blocking commands nor wait.
 */
export function redisPinger(url: string, name = "ta-fleet:health"): { ping(): Promise<void>; close(): Promise<void> } {
  let redis: Redis | undefined;
  return {
    async ping() {
      if (!redis) {
        redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, enableOfflineQueue: false, connectionName: name });
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

/** quit() once; fall back to disconnect() if quit cannot complete in time. */
export async function closeRedis(redis: Redis, timeoutMs = 2_000): Promise<void> {
  if (redis.status === "end") return;
  const timer = new Promise<"timeout">((r) => setTimeout(() => r("timeout"), timeoutMs).unref());
  // A failed quit (connection already broken) ends in disconnect() below, like a slow one.
  const result = await Promise.race([redis.quit().catch(() => "error"), timer]);
  if (result !== "OK") redis.disconnect();
}

/** Deletes every key under a BullMQ prefix (a test's or a benchmark's), in SCAN batches. */
export async function deletePrefixKeys(redis: Redis, prefix: string): Promise<void> {
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1000);
    cursor = next;
    if (keys.length) await redis.unlink(...keys);
  } while (cursor !== "0");
}
