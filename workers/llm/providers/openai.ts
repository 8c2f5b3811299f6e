// OpenAI Chat Completions (POST {base}/chat/completions) through the official SDK; any OpenAI-compatible
// server works with OPENAI_BASE_URL.
import OpenAI from "openai";
import { usageOrEstimate, type ChatRequest, type ChatResponse, type ProviderAdapter, type Tier } from "../types.ts";
import { classifySdkError, malformed } from "./sdk-errors.ts";
import { sendGate } from "./send-gate.ts";

export interface OpenAiOptions {
  apiKey: string;
  baseUrl: string;
  model: string;
  tier: Tier;
  timeoutMs: number;
}

export function openAiProvider(o: OpenAiOptions): ProviderAdapter {
  const name = "openai";
  return {
    name,
    model: o.model,
    tier: o.tier,
    async complete(req: ChatRequest): Promise<ChatResponse> {
      const gate = sendGate(req);
      const client = new OpenAI({ apiKey: o.apiKey, baseURL: o.baseUrl, maxRetries: 0, timeout: o.timeoutMs, fetch: gate.fetch });
      const messages: OpenAI.Chat.ChatCompletionMessageParam[] = [
        ...(req.system ? [{ role: "system" as const, content: req.system }] : []),
        { role: "user", content: req.prompt },
      ];
      const body = { model: o.model, messages, max_completion_tokens: req.maxOutputTokens };
      const partial: { text: string; inputTokens?: number; outputTokens?: number } = { text: "" };
      try {
        if (!req.stream) {
          const res = await client.chat.completions.create(body, { signal: req.signal });
          const text = res?.choices?.[0]?.message?.content;
          if (typeof text !== "string") throw malformed(name, "no choices[0].message.content");
          return { text, model: res.model ?? o.model, usage: usageOrEstimate(res.usage?.prompt_tokens, res.usage?.completion_tokens, req, text) };
        }
        const stream = await client.chat.completions.create({ ...body, stream: true, stream_options: { include_usage: true } }, { signal: req.signal });
        let model = o.model;
        for await (const chunk of stream) {
          const piece = chunk.choices?.[0]?.delta?.content;
          if (piece) {
            partial.text += piece;
            req.onText?.(piece);
          }
          if (chunk.model) model = chunk.model;
          if (chunk.usage) [partial.inputTokens, partial.outputTokens] = [chunk.usage.prompt_tokens, chunk.usage.completion_tokens];
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
