// Each test gets its own BullMQ key prefix; cleanup deletes exactly its keys.
import { randomBytes } from "node:crypto";
import { inject } from "vitest";
import { closeRedis, createRedis, deletePrefixKeys } from "../../queues/connection.ts";

export const redisUrl = () => inject("redisUrl");

/** A Cluster-style hash-tagged prefix unique to one test. */
export const uniquePrefix = (label = "t") => `{${label}-${randomBytes(5).toString("hex")}}`;

export async function deletePrefix(prefix: string): Promise<void> {
  const redis = createRedis(redisUrl(), "test-cleanup");
  try {
    await deletePrefixKeys(redis, prefix);
  } finally {
    await closeRedis(redis);
  }
}
