import { describe, expect, it } from "vitest";
import { DEFAULT_RETRY, retryDelay, sleep } from "../../workers/llm/retry.ts";

describe("LLM retry policy", () => {
  it("backs off 1 s, 2 s, 4 s, 8 s over 5 attempts, then gives up", () => {
    const waits = [2, 3, 4, 5, 6].map((n) => retryDelay(DEFAULT_RETRY, n, undefined, () => 0));
    expect(waits).toEqual([1_000, 2_000, 4_000, 8_000, undefined]);
  });

  it("caps at 32 s and adds at most the jitter", () => {
    const long = { ...DEFAULT_RETRY, attempts: 10 };
    expect(retryDelay(long, 7, undefined, () => 0)).toBe(32_000);
    expect(retryDelay(long, 9, undefined, () => 0.99)).toBe(32_000);
    expect(retryDelay(DEFAULT_RETRY, 2, undefined, () => 0.5)).toBe(1_500);
  });

  it("waits at least retry-after, and gives the provider up when retry-after exceeds the cap", () => {
    expect(retryDelay(DEFAULT_RETRY, 2, 10_000, () => 0)).toBe(10_000);
    expect(retryDelay(DEFAULT_RETRY, 4, 1_000, () => 0)).toBe(4_000);
    expect(retryDelay(DEFAULT_RETRY, 2, 60_000, () => 0)).toBeUndefined();
  });

  it("sleep ends early with the signal's reason", async () => {
    const ac = new AbortController();
    const p = sleep(60_000, ac.signal);
    ac.abort(new Error("shutting down"));
    await expect(p).rejects.toThrow("shutting down");
    await expect(sleep(1, new AbortController().signal)).resolves.toBeUndefined();
  });
});
