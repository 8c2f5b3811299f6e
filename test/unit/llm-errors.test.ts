import { describe, expect, it } from "vitest";
import { errorForStatus, InvalidRequestError, ProviderUnusableError, redact, RetryableCallError, retryAfterMs } from "../../workers/llm/errors.ts";
import { retryInfoMs } from "../../workers/llm/providers/sdk-errors.ts";

const headers = (h: Record<string, string>) => ({ get: (n: string) => h[n] ?? null });

describe("LLM error classification", () => {
  it("maps statuses: 429/408/5xx retryable, 401/403 unusable provider, other 4xx invalid request, billing quota unusable", () => {
    expect(errorForStatus("p", 429, "slow down", 2_000)).toMatchObject({ name: "RetryableCallError", reason: "rate_limited", retryAfterMs: 2_000 });
    expect(errorForStatus("p", 408, "timeout")).toMatchObject({ reason: "timeout" });
    expect(errorForStatus("p", 529, "overloaded")).toBeInstanceOf(RetryableCallError);
    expect(errorForStatus("p", 401, "bad key")).toMatchObject({ name: "ProviderUnusableError", reason: "auth" });
    expect(errorForStatus("p", 403, "denied")).toBeInstanceOf(ProviderUnusableError);
    expect(errorForStatus("p", 404, "no such model")).toBeInstanceOf(InvalidRequestError);
    expect(errorForStatus("p", 400, "bad")).toBeInstanceOf(InvalidRequestError);
    expect(errorForStatus("p", 429, "insufficient_quota: check your plan and billing details")).toMatchObject({ reason: "quota_exhausted" });
    expect(errorForStatus("openai", 500, "boom").message).toBe("openai: HTTP 500: boom");
  });

  it("reads retry-after as seconds, an HTTP date or retry-after-ms, and Gemini's RetryInfo", () => {
    const now = Date.parse("2026-11-22T10:00:00Z");
    expect(retryAfterMs(headers({ "retry-after": "3" }))).toBe(3_000);
    expect(retryAfterMs(headers({ "retry-after": "Sun, 22 Nov 2026 10:00:05 GMT" }), now)).toBe(5_000);
    expect(retryAfterMs(headers({ "retry-after-ms": "250", "retry-after": "9" }))).toBe(250);
    expect(retryAfterMs(headers({ "retry-after": "soon" }))).toBeUndefined();
    expect(retryAfterMs(undefined)).toBeUndefined();
    expect(retryInfoMs('{"error":{"details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"13.5s"}]}}')).toBe(13_500);
    expect(retryInfoMs("no hint")).toBeUndefined();
  });

  it("redacts keys and credential-shaped values", () => {
    const msg = redact('401 Incorrect API key provided: sk-live-123. headers {"authorization":"Bearer sk-live-123","x-api-key":"abc"} url ?key=AIzaXYZ&alt=sse', ["sk-live-123"]);
    expect(msg).not.toMatch(/sk-live-123|abc"|AIzaXYZ/);
    expect(msg).toContain("[redacted]");
    expect(msg).toContain("alt=sse");
  });
});
