// Gemini generateContent as the real API speaks it: POST /v1beta/models/{model}:generateContent (or
// :streamGenerateContent?alt=sse), key in x-goog-api-key, GenerateContentResponse with usageMetadata,
// google.rpc status errors with RetryInfo on 429.
import { startFake, unknownKey, type FakeOptions, type ProviderShape } from "./harness.ts";

const ALLOWED = ["contents", "systemInstruction", "generationConfig", "safetySettings", "tools"];
const STATUS: Record<number, string> = { 400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE" };

export const geminiShape: ProviderShape = {
  name: "gemini",
  route(method, path) {
    const m = /^\/v1beta\/models\/([^/:]+):(generateContent|streamGenerateContent)$/.exec(path);
    return method === "POST" && m ? { model: m[1], stream: m[2] === "streamGenerateContent" } : undefined;
  },
  check(req, key) {
    const k = req.headers["x-goog-api-key"] ?? req.query.key;
    if (k === undefined) return { status: 403, message: "Method doesn't allow unregistered callers. Please use an API key." };
    if (k !== key) return { status: 400, message: "API key not valid. Please pass a valid API key." };
    if (req.path.endsWith(":streamGenerateContent") && req.query.alt !== "sse") return { status: 400, message: "streaming needs alt=sse" };
    const b = req.body;
    const extra = unknownKey(b, ALLOWED);
    if (extra) return { status: 400, message: `Invalid JSON payload received. Unknown name "${extra}"` };
    const contents = b.contents as Array<{ role?: unknown; parts?: Array<{ text?: unknown }> }> | undefined;
    if (!Array.isArray(contents) || !contents.length) return { status: 400, message: "* GenerateContentRequest.contents: contents is not specified" };
    if (contents.some((c) => !["user", "model"].includes(String(c.role)) || !Array.isArray(c.parts) || c.parts.some((p) => typeof p.text !== "string"))) {
      return { status: 400, message: "contents: each needs role user/model and text parts" };
    }
    const si = b.systemInstruction as { parts?: Array<{ text?: unknown }> } | undefined;
    if (si !== undefined && (!Array.isArray(si.parts) || si.parts.some((p) => typeof p.text !== "string"))) return { status: 400, message: "systemInstruction: needs text parts" };
    const gc = b.generationConfig as Record<string, unknown> | undefined;
    if (gc?.maxOutputTokens !== undefined && !(Number.isInteger(gc.maxOutputTokens) && (gc.maxOutputTokens as number) > 0)) return { status: 400, message: "generationConfig.maxOutputTokens must be a positive integer" };
    return undefined;
  },
  wantsStream: (req) => req.path.endsWith(":streamGenerateContent"),
  okBody: (model, text, usage) => ({
    candidates: [{ content: { parts: [{ text }], role: "model" }, finishReason: "STOP", index: 0 }],
    ...(usage ? { usageMetadata: { promptTokenCount: usage.input, candidatesTokenCount: usage.output, totalTokenCount: usage.input + usage.output } } : {}),
    modelVersion: model,
    responseId: "fake-response",
  }),
  streamEvents(model, chunks, usage, done) {
    return chunks.map((c, i) => {
      const last = done && i === chunks.length - 1;
      const u = usage ? { promptTokenCount: usage.input, ...(last ? { candidatesTokenCount: usage.output, totalTokenCount: usage.input + usage.output } : {}) } : undefined;
      return `data: ${JSON.stringify({ candidates: [{ content: { parts: [{ text: c }], role: "model" }, ...(last ? { finishReason: "STOP" } : {}), index: 0 }], ...(u ? { usageMetadata: u } : {}), modelVersion: model, responseId: "fake-response" })}`;
    });
  },
  errorBody: (status, message, _code, retryAfterS) => ({
    error: {
      code: status,
      message,
      status: STATUS[status] ?? "UNKNOWN",
      ...(status === 429 && retryAfterS ? { details: [{ "@type": "type.googleapis.com/google.rpc.RetryInfo", retryDelay: `${retryAfterS}s` }] } : {}),
    },
  }),
};

export const startGeminiFake = (o: FakeOptions) => startFake(geminiShape, o);
