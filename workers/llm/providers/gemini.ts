// Gemini generateContent / streamGenerateContent (POST {base}/v1beta/models/{model}:...) through the
// official SDK, key in x-goog-api-key. The SDK's ApiError has no headers, so the fetch wrapper also keeps
// the last response's status and headers for retry-after.
import { GoogleGenAI } from "@google/genai";
import { usageOrEstimate, type ChatRequest, type ChatResponse, type ProviderAdapter, type Tier } from "../types.ts";
import { classifySdkError, malformed } from "./sdk-errors.ts";
import { sendGate } from "./send-gate.ts";

export interface GeminiOptions {
  apiKey: string;
  baseUrl: string;
  model: string;
  tier: Tier;
  timeoutMs: number;
}

export function geminiProvider(o: GeminiOptions): ProviderAdapter {
  const name = "gemini";
  return {
    name,
    model: o.model,
    tier: o.tier,
    async complete(req: ChatRequest): Promise<ChatResponse> {
      let last: Response | undefined;
      const gate = sendGate(req);
      // One client per call: the fetch wrapper's captured response belongs to this call only.
      const client = new GoogleGenAI({
        apiKey: o.apiKey,
        httpOptions: { baseUrl: o.baseUrl, timeout: o.timeoutMs, fetch: async (input, init) => (last = await gate.fetch(input, init)) },
      });
      const params = {
        model: o.model,
        contents: [{ role: "user", parts: [{ text: req.prompt }] }],
        config: { maxOutputTokens: req.maxOutputTokens, abortSignal: req.signal, ...(req.system ? { systemInstruction: req.system } : {}) },
      };
      const partial: { text: string; inputTokens?: number; outputTokens?: number } = { text: "" };
      try {
        if (!req.stream) {
          const res = await client.models.generateContent(params);
          const parts = res?.candidates?.[0]?.content?.parts;
          if (!Array.isArray(parts)) throw malformed(name, "no candidates[0].content.parts");
          const text = parts.map((p) => p.text ?? "").join("");
          return { text, model: res.modelVersion ?? o.model, usage: usageOrEstimate(res.usageMetadata?.promptTokenCount, res.usageMetadata?.candidatesTokenCount, req, text) };
        }
        let model = o.model;
        for await (const chunk of await client.models.generateContentStream(params)) {
          const piece = (chunk.candidates?.[0]?.content?.parts ?? []).map((p) => p.text ?? "").join("");
          if (piece) {
            partial.text += piece;
            req.onText?.(piece);
          }
          if (chunk.modelVersion) model = chunk.modelVersion;
          if (chunk.usageMetadata) {
            partial.inputTokens = chunk.usageMetadata.promptTokenCount ?? partial.inputTokens;
            partial.outputTokens = chunk.usageMetadata.candidatesTokenCount ?? partial.outputTokens;
          }
        }
        // The SDK ends an aborted stream quietly: what arrived is partial, not an answer.
        req.signal.throwIfAborted();
        return { text: partial.text, model, usage: usageOrEstimate(partial.inputTokens, partial.outputTokens, req, partial.text) };
      } catch (err) {
        gate.rethrowRefusal();
        if ((err as Error)?.name === "RetryableCallError") throw err;
        const status = last && !last.ok ? last.status : undefined;
        throw classifySdkError({ provider: name, err, signal: req.signal, partial, promptChars: req.prompt.length + (req.system?.length ?? 0), secrets: [o.apiKey], status, headers: last?.headers });
      }
    },
  };
}
