// How a failed provider call is treated. Retryable: 429, 5xx, timeouts, network, malformed bodies — the same
// provider again after a backoff. Provider-unusable: 401/403 auth, exhausted billing quota — no retry there,
// fall back to the next provider. Invalid request (400): the task itself is wrong, so it fails everywhere.
import type { Usage } from "./types.ts";

export type RetryReason = "rate_limited" | "server" | "timeout" | "network" | "malformed";

export class RetryableCallError extends Error {
  override name = "RetryableCallError";
  constructor(
    readonly reason: RetryReason,
    message: string,
    readonly status?: number,
    /** From retry-after / retry-after-ms / Gemini RetryInfo. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

export class ProviderUnusableError extends Error {
  override name = "ProviderUnusableError";
  constructor(
    readonly reason: "auth" | "quota_exhausted",
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

export class InvalidRequestError extends Error {
  override name = "InvalidRequestError";
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

/** The caller's signal fired mid-response; what had streamed so far is kept. */
export class CallCancelledError extends Error {
  override name = "CallCancelledError";
  constructor(
    message: string,
    readonly partial: { text: string; usage: Usage },
  ) {
    super(message);
  }
}

export type CallError = RetryableCallError | ProviderUnusableError | InvalidRequestError | CallCancelledError;

/** Maps an HTTP status (with the provider's error code and message) to our classes. */
export function errorForStatus(provider: string, status: number, detail: string, retryAfterMs?: number): CallError {
  const msg = `${provider}: HTTP ${status}: ${detail}`;
  // OpenAI answers an exhausted billing quota with 429 "insufficient_quota"; Gemini with RESOURCE_EXHAUSTED
  // only for rate limits, so only the explicit billing codes are permanent.
  if (/insufficient_quota|billing|credit balance/i.test(detail)) return new ProviderUnusableError("quota_exhausted", msg, status);
  if (status === 429) return new RetryableCallError("rate_limited", msg, status, retryAfterMs);
  if (status === 408) return new RetryableCallError("timeout", msg, status, retryAfterMs);
  if (status === 401 || status === 403) return new ProviderUnusableError("auth", msg, status);
  if (status >= 500) return new RetryableCallError("server", msg, status, retryAfterMs);
  return new InvalidRequestError(msg, status);
}

/** retry-after (seconds or an HTTP date) or retry-after-ms, in ms; undefined when absent or unreadable. */
export function retryAfterMs(headers: { get(name: string): string | null } | undefined, now = Date.now()): number | undefined {
  const ms = Number(headers?.get("retry-after-ms") ?? NaN);
  if (Number.isFinite(ms) && ms >= 0) return ms;
  const raw = headers?.get("retry-after");
  if (!raw) return undefined;
  const s = Number(raw);
  if (Number.isFinite(s) && s >= 0) return s * 1000;
  const at = Date.parse(raw);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** Removes the given secrets and anything shaped like a credential header from a message. */
export function redact(message: string, secrets: readonly string[]): string {
  let out = message;
  for (const s of secrets) if (s) out = out.split(s).join("[redacted]");
  return out.replace(/(bearer\s+|x-api-key["':=\s]+|x-goog-api-key["':=\s]+|[?&]key=)[^\s"'&,}]+/gi, "$1[redacted]");
}
