// Each test gets its own BullMQ key prefix; cleanup deletes exactly its keys.
import { randomBytes } from "node:crypto";
import { inject } from "vitest";
import { closeRedis, createRedis } from "../../queues/connection.ts";

export const redisUrl = () => inject("redisUrl");

/** A Cluster-style hash-tagged prefix unique to one test. */
export const uniquePrefix = (label = "t") => `{${label}-${randomBytes(5).toString("hex")}}`;

export async function deletePrefix(prefix: string): Promise<void> {
  const redis = createRedis(redisUrl(), "test-cleanup");
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
