import { closeRedis, createRedis } from "../queues/connection.ts";

export async function deletePrefixKeys(redisUrl: string, prefix: string): Promise<void> {
  const redis = createRedis(redisUrl, "bench-cleanup");
  try {
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1000);
      cursor = next;
      if (keys.length) await redis.unlink(...keys);
    } while (cursor !== "0");
  } finally {
    await closeRedis(redis);
  }
}
