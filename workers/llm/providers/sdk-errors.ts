// The official SDKs throw their own error classes; this turns them into ours (./errors.ts) so routing and
// retries are decided in one place. The SDKs' own retries are off (maxRetries: 0 / no retryOptions).
import { CallCancelledError, RetryableCallError, errorForStatus, redact, retryAfterMs, type CallError } from "../errors.ts";
import { estimateTokens, type Usage } from "../types.ts";

export interface ClassifyInput {
  provider: string;
  err: unknown;
  /** The caller's signal: if it fired, the call was cancelled, whatever the SDK reports. */
  signal: AbortSignal;
  partial: { text: string; inputTokens?: number; outputTokens?: number };
  /** Prompt size, to estimate input tokens of a cancelled call that reported none. */
  promptChars: number;
  secrets: readonly string[];
  /** Status and headers when the SDK does not attach them to its error (Gemini). */
  status?: number;
  headers?: { get(name: string): string | null };
}

export function classifySdkError(c: ClassifyInput): CallError {
  const err = c.err as { name?: string; status?: unknown; headers?: { get(n: string): string | null }; message?: string; constructor?: { name?: string } };
  const message = redact(String(err?.message ?? c.err), c.secrets);
  if (c.signal.aborted) {
    const out = c.partial.outputTokens;
    const usage: Usage = {
      inputTokens: c.partial.inputTokens ?? Math.ceil(c.promptChars / 4),
      outputTokens: out ?? estimateTokens(c.partial.text),
      estimated: c.partial.inputTokens === undefined || out === undefined,
    };
    return new CallCancelledError(`${c.provider}: cancelled after ${c.partial.text.length} characters: ${String(c.signal.reason ?? "aborted")}`, { text: c.partial.text, usage });
  }
  const kind = err?.constructor?.name ?? err?.name ?? "";
  if (kind === "APIConnectionTimeoutError" || err?.name === "TimeoutError" || err?.name === "AbortError") {
    return new RetryableCallError("timeout", `${c.provider}: request timed out: ${message}`);
  }
  const status = typeof err?.status === "number" ? err.status : c.status;
  if (status) return errorForStatus(c.provider, status, message, retryAfterMs(err?.headers ?? c.headers) ?? retryInfoMs(message));
  if (err instanceof SyntaxError) return new RetryableCallError("malformed", `${c.provider}: malformed response body: ${message}`);
  return new RetryableCallError("network", `${c.provider}: ${kind || "network error"}: ${message}`);
}

/** Gemini puts the wait into the error body: {"@type": "...RetryInfo", "retryDelay": "13s"}. */
export function retryInfoMs(message: string): number | undefined {
  const m = /"retryDelay"\s*:\s*"(\d+(?:\.\d+)?)s"/.exec(message);
  return m ? Math.round(Number(m[1]) * 1000) : undefined;
}

export function malformed(provider: string, what: string): RetryableCallError {
  return new RetryableCallError("malformed", `${provider}: malformed response: ${what}`);
}
