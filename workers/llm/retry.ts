// Exponential backoff with jitter for one provider: 1 s, 2 s, 4 s, ... capped at 32 s, 5 attempts. A 429's
// retry-after wins when it is longer; one longer than the cap means "not this provider for now".
export interface RetryPolicy {
  attempts: number;
  baseMs: number;
  maxMs: number;
  /** Up to this much random delay is added to each wait, so a burst of failures does not retry in step. */
  jitterMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = Object.freeze({ attempts: 5, baseMs: 1_000, maxMs: 32_000, jitterMs: 1_000 });

/** Wait before attempt `next` (2, 3, ...), or undefined when the provider should be given up. */
export function retryDelay(policy: RetryPolicy, next: number, retryAfterMs: number | undefined, random = Math.random): number | undefined {
  if (next > policy.attempts) return undefined;
  if (retryAfterMs !== undefined && retryAfterMs > policy.maxMs) return undefined;
  const expo = Math.min(policy.maxMs, policy.baseMs * 2 ** (next - 2) + random() * policy.jitterMs);
  return Math.max(expo, retryAfterMs ?? 0);
}

/** Resolves after `ms`, or rejects with the signal's reason once it fires. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const done = () => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    };
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(done, ms);
    timer.unref();
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
