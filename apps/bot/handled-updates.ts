// Which Telegram updates the bot has handled, in Redis under the fleet prefix. Telegram redelivers every
// update until a getUpdates confirms it, so a bot that dies between acting and confirming would act twice:
// claiming the update id durably before acting makes the redelivery a no-op, and the saved offset lets a
// restarted bot resume where the last one stopped.
import type { Redis } from "../../queues/connection.ts";

export interface HandledUpdates {
  /** Records the update as handled; false when it already was (a redelivery: skip it). */
  claim(updateId: number): Promise<boolean>;
  /** The offset to resume polling from, when one was saved. */
  offset(): Promise<number | undefined>;
  saveOffset(offset: number): Promise<void>;
}

// Telegram keeps unconfirmed updates for 24 hours; a claim outlives them.
const CLAIM_TTL_S = 86_400;

export function redisHandledUpdates(redis: Redis, prefix: string): HandledUpdates {
  const offsetKey = `${prefix}:chatops:offset`;
  return {
    claim: async (updateId) => (await redis.set(`${prefix}:chatops:update:${updateId}`, "1", "EX", CLAIM_TTL_S, "NX")) === "OK",
    offset: async () => {
      const v = await redis.get(offsetKey);
      return v === null ? undefined : Number(v);
    },
    saveOffset: async (offset) => {
      await redis.set(offsetKey, String(offset));
    },
  };
}
