// Anthropic Messages (POST {base}/v1/messages) through the official SDK. SDK 1.x speaks API version
// 2026-10-21, which authenticates with "Authorization: Bearer <key>" next to the anthropic-version header.
import Anthropic from "@anthropic-ai/sdk";
import { usageOrEstimate, type ChatRequest, type ChatResponse, type ProviderAdapter, type Tier } from "../types.ts";
import { classifySdkError, malformed } from "./sdk-errors.ts";
import { sendGate } from "./send-gate.ts";

export interface AnthropicOptions {
  apiKey: string;
  baseUrl: string;
  model: string;
  tier: Tier;
  timeoutMs: number;
}

export function anthropicProvider(o: AnthropicOptions): ProviderAdapter {
  const name = "anthropic";
  return {
    name,
    model: o.model,
    tier: o.tier,
    async complete(req: ChatRequest): Promise<ChatResponse> {
      const gate = sendGate(req);
      // authToken null: only the key given here authenticates, never a token found in the environment.
      const client = new Anthropic({ apiKey: o.apiKey, authToken: null, baseURL: o.baseUrl, maxRetries: 0, timeout: o.timeoutMs, fetch: gate.fetch });
      const body = {
        model: o.model,
        max_tokens: req.maxOutputTokens,
        ...(req.system ? { system: req.system } : {}),
        messages: [{ role: "user" as const, content: req.prompt }],
      };
      const partial: { text: string; inputTokens?: number; outputTokens?: number } = { text: "" };
      try {
        if (!req.stream) {
          const res = await client.messages.create(body, { signal: req.signal });
          if (!Array.isArray(res?.content)) throw malformed(name, "no content array");
          const text = res.content.map((b) => (b.type === "text" ? b.text : "")).join("");
          return { text, model: res.model ?? o.model, usage: usageOrEstimate(res.usage?.input_tokens, res.usage?.output_tokens, req, text) };
        }
        const stream = await client.messages.create({ ...body, stream: true }, { signal: req.signal });
        let model = o.model;
        for await (const ev of stream) {
          if (ev.type === "message_start") {
            model = ev.message.model ?? model;
            partial.inputTokens = ev.message.usage?.input_tokens;
          } else if (ev.type === "content_block_delta" && ev.delta.type === "text_delta") {
            partial.text += ev.delta.text;
            req.onText?.(ev.delta.text);
          } else if (ev.type === "message_delta") {
            partial.outputTokens = ev.usage?.output_tokens ?? partial.outputTokens;
          }
        }
        // The SDK ends an aborted stream quietly: what arrived is partial, not an answer.
        req.signal.throwIfAborted();
        return { text: partial.text, model, usage: usageOrEstimate(partial.inputTokens, partial.outputTokens, req, partial.text) };
      } catch (err) {
        gate.rethrowRefusal();
        if ((err as Error)?.name === "RetryableCallError") throw err;
        throw classifySdkError({ provider: name, err, signal: req.signal, partial, promptChars: req.prompt.length + (req.system?.length ?? 0), secrets: [o.apiKey] });
      }
    },
  };
}
