// Each adapter against a local fake of its provider: the exact request on the wire, usage from real
// response shapes, and how every kind of failure is classified (the SDKs' own retries are off).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { anthropicProvider } from "../../workers/llm/providers/anthropic.ts";
import { geminiProvider } from "../../workers/llm/providers/gemini.ts";
import { openAiProvider } from "../../workers/llm/providers/openai.ts";
import { CallCancelledError, InvalidRequestError, ProviderUnusableError, RetryableCallError } from "../../workers/llm/errors.ts";
import type { ChatRequest, ProviderAdapter } from "../../workers/llm/types.ts";
import { startAnthropicFake } from "../fakes/anthropic.ts";
import { startGeminiFake } from "../fakes/gemini.ts";
import type { FakeProvider } from "../fakes/harness.ts";
import { startOpenAiFake } from "../fakes/openai.ts";

const KEY = "sk-test-SECRET-0123456789abcdef";

interface Case {
  name: string;
  start: () => Promise<FakeProvider>;
  adapter: (url: string, timeoutMs?: number) => ProviderAdapter;
  /** The request the adapter must send for `base` (system "Be brief.", prompt "Hello", 64 tokens). */
  expected: (stream: boolean) => { path: string; query?: Record<string, string>; headers: Record<string, string>; body: unknown };
}

const cases: Case[] = [
  {
    name: "openai",
    start: () => startOpenAiFake({ key: KEY }),
    adapter: (url, timeoutMs = 5_000) => openAiProvider({ apiKey: KEY, baseUrl: `${url}/v1`, model: "gpt-4o-mini", tier: "paid", timeoutMs }),
    expected: (stream) => ({
      path: "/v1/chat/completions",
      headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" },
      body: {
        model: "gpt-4o-mini",
        messages: [{ role: "system", content: "Be brief." }, { role: "user", content: "Hello" }],
        max_completion_tokens: 64,
        ...(stream ? { stream: true, stream_options: { include_usage: true } } : {}),
      },
    }),
  },
  {
    name: "anthropic",
    start: () => startAnthropicFake({ key: KEY }),
    adapter: (url, timeoutMs = 5_000) => anthropicProvider({ apiKey: KEY, baseUrl: url, model: "claude-haiku-4-5", tier: "paid", timeoutMs }),
    expected: (stream) => ({
      path: "/v1/messages",
      headers: { authorization: `Bearer ${KEY}`, "anthropic-version": "2026-10-21", "content-type": "application/json" },
      body: { model: "claude-haiku-4-5", max_tokens: 64, system: "Be brief.", messages: [{ role: "user", content: "Hello" }], ...(stream ? { stream: true } : {}) },
    }),
  },
  {
    name: "gemini",
    start: () => startGeminiFake({ key: KEY }),
    adapter: (url, timeoutMs = 5_000) => geminiProvider({ apiKey: KEY, baseUrl: url, model: "gemini-2.5-flash", tier: "free", timeoutMs }),
    expected: (stream) => ({
      path: `/v1beta/models/gemini-2.5-flash:${stream ? "streamGenerateContent" : "generateContent"}`,
      ...(stream ? { query: { alt: "sse" } } : {}),
      headers: { "x-goog-api-key": KEY, "content-type": "application/json" },
      body: {
        contents: [{ role: "user", parts: [{ text: "Hello" }] }],
        systemInstruction: { parts: [{ text: "Be brief." }], role: "user" },
        generationConfig: { maxOutputTokens: 64 },
      },
    }),
  },
];

const base = (over: Partial<ChatRequest> = {}): ChatRequest => ({ system: "Be brief.", prompt: "Hello", maxOutputTokens: 64, stream: false, signal: new AbortController().signal, ...over });

describe.each(cases)("$name adapter", (c) => {
  let fake: FakeProvider;
  let adapter: ProviderAdapter;
  beforeAll(async () => {
    fake = await c.start();
    adapter = c.adapter(fake.url);
  });
  afterAll(() => fake.close());

  const last = () => fake.requests.at(-1)!;
  const expectRequest = (stream: boolean) => {
    const want = c.expected(stream);
    expect(last().path).toBe(want.path);
    if (want.query) expect(last().query).toEqual(want.query);
    expect(last().headers).toMatchObject(want.headers);
    expect(last().body).toEqual(want.body);
    expect(fake.violations).toEqual([]);
  };

  it("sends the exact request and reads text and usage", async () => {
    fake.script({ type: "ok", text: "Hi there.", usage: { input: 12, output: 3 } });
    const res = await adapter.complete(base());
    expectRequest(false);
    expect(res.text).toBe("Hi there.");
    expect(res.usage).toEqual({ inputTokens: 12, outputTokens: 3, estimated: false });
  });

  it("streams over SSE and reads usage from the stream", async () => {
    fake.script({ type: "ok", text: "One two three four.", usage: { input: 9, output: 5 } });
    const pieces: string[] = [];
    const res = await adapter.complete(base({ stream: true, onText: (t) => pieces.push(t) }));
    expectRequest(true);
    expect(res.text).toBe("One two three four.");
    expect(pieces.join("")).toBe("One two three four.");
    expect(pieces.length).toBeGreaterThan(1);
    expect(res.usage).toEqual({ inputTokens: 9, outputTokens: 5, estimated: false });
  });

  it("estimates usage (flagged) when the response has none", async () => {
    fake.script({ type: "ok", text: "x".repeat(40), usage: null });
    const res = await adapter.complete(base());
    expect(res.usage).toMatchObject({ outputTokens: 10, estimated: true });
  });

  it("429 with retry-after is retryable and carries the wait; the SDK does not retry by itself", async () => {
    const before = fake.requests.length;
    fake.script({ type: "error", status: 429, retryAfter: "2" });
    const err = await adapter.complete(base()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RetryableCallError);
    expect(err).toMatchObject({ reason: "rate_limited", status: 429, retryAfterMs: 2_000 });
    expect(fake.requests.length).toBe(before + 1);
  });

  it("5xx is retryable, 400 is an invalid request, 401/403 make the provider unusable — without the key in the message", async () => {
    fake.script({ type: "error", status: 500 }, { type: "error", status: 400, message: "bad field" }, { type: "error", status: 401, message: `Incorrect API key provided: ${KEY}` });
    const e500 = await adapter.complete(base()).catch((e: unknown) => e);
    const e400 = await adapter.complete(base()).catch((e: unknown) => e);
    const e401 = await adapter.complete(base()).catch((e: unknown) => e);
    expect(e500).toMatchObject({ name: "RetryableCallError", reason: "server", status: 500 });
    expect(e400).toBeInstanceOf(InvalidRequestError);
    expect(e401).toBeInstanceOf(ProviderUnusableError);
    expect(e401).toMatchObject({ reason: "auth" });
    for (const e of [e500, e400, e401]) expect(String((e as Error).message)).not.toContain(KEY);
    expect((e401 as Error).message).toContain("[redacted]");
  });

  it("an exhausted billing quota makes the provider unusable, not retryable", async () => {
    fake.script({ type: "error", status: 429, code: "insufficient_quota", message: "You exceeded your current quota, please check your plan and billing details." });
    const err = await adapter.complete(base()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderUnusableError);
    expect(err).toMatchObject({ reason: "quota_exhausted" });
  });

  it("a malformed body is retryable", async () => {
    fake.script({ type: "malformed" });
    const err = await adapter.complete(base()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RetryableCallError);
    expect((err as RetryableCallError).reason).toBe("malformed");
  });

  it("a response slower than the call timeout is a retryable timeout", async () => {
    const slow = c.adapter(fake.url, 300);
    fake.script({ type: "ok", delayMs: 3_000 });
    const err = await slow.complete(base()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RetryableCallError);
    expect((err as RetryableCallError).reason).toBe("timeout");
  });

  it("a cancelled stream keeps the partial output", async () => {
    fake.script({ type: "stream-hang", chunks: ["Partial ", "answer ", "so far"] });
    const ac = new AbortController();
    let got = "";
    const err = await adapter
      .complete(base({ stream: true, signal: ac.signal, onText: (t) => ((got += t), got === "Partial answer so far" && ac.abort(new Error("operator cancelled"))) }))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CallCancelledError);
    expect((err as CallCancelledError).partial.text).toBe("Partial answer so far");
    expect((err as CallCancelledError).partial.usage.outputTokens).toBeGreaterThan(0);
  });
});
