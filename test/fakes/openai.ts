// OpenAI Chat Completions as the real API speaks it: POST /v1/chat/completions, Authorization: Bearer,
// chat.completion / chat.completion.chunk bodies with usage, {"error": {...}} on failure.
import { bearer, startFake, unknownKey, type FakeOptions, type ProviderShape } from "./harness.ts";

const ALLOWED = ["model", "messages", "max_completion_tokens", "max_tokens", "stream", "stream_options", "temperature"];

export const openAiShape: ProviderShape = {
  name: "openai",
  route: (method, path) => (method === "POST" && path === "/v1/chat/completions" ? {} : undefined),
  check(req, key) {
    const k = bearer(req.headers);
    if (k === undefined) return { status: 401, message: "missing Authorization: Bearer header" };
    if (k !== key) return { status: 401, message: "Incorrect API key provided" };
    if (!String(req.headers["content-type"]).startsWith("application/json")) return { status: 400, message: "content-type must be application/json" };
    const b = req.body;
    const extra = unknownKey(b, ALLOWED);
    if (extra) return { status: 400, message: `Unrecognized request argument supplied: ${extra}` };
    if (typeof b.model !== "string" || !b.model) return { status: 400, message: "model is required" };
    const msgs = b.messages as Array<{ role?: unknown; content?: unknown }> | undefined;
    if (!Array.isArray(msgs) || !msgs.length) return { status: 400, message: "messages must be a non-empty array" };
    for (const m of msgs) {
      if (!["system", "developer", "user", "assistant"].includes(String(m.role)) || typeof m.content !== "string") return { status: 400, message: "each message needs a role and string content" };
    }
    if (b.max_completion_tokens !== undefined && !(Number.isInteger(b.max_completion_tokens) && (b.max_completion_tokens as number) > 0)) return { status: 400, message: "max_completion_tokens must be a positive integer" };
    if (b.stream_options !== undefined && b.stream !== true) return { status: 400, message: "stream_options requires stream: true" };
    return undefined;
  },
  wantsStream: (req) => req.body.stream === true,
  okBody: (model, text, usage) => ({
    id: "chatcmpl-fake",
    object: "chat.completion",
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [{ index: 0, message: { role: "assistant", content: text, refusal: null }, logprobs: null, finish_reason: "stop" }],
    ...(usage ? { usage: { prompt_tokens: usage.input, completion_tokens: usage.output, total_tokens: usage.input + usage.output } } : {}),
  }),
  streamEvents(model, chunks, usage, done) {
    const base = { id: "chatcmpl-fake", object: "chat.completion.chunk", created: Math.floor(Date.now() / 1000), model };
    const events = chunks.map((c, i) => `data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta: i === 0 ? { role: "assistant", content: c } : { content: c }, finish_reason: null }] })}`);
    if (!done) return events;
    events.push(`data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta: {}, finish_reason: "stop" }] })}`);
    if (usage) events.push(`data: ${JSON.stringify({ ...base, choices: [], usage: { prompt_tokens: usage.input, completion_tokens: usage.output, total_tokens: usage.input + usage.output } })}`);
    events.push("data: [DONE]");
    return events;
  },
  errorBody: (status, message, code) => ({
    error: { message, type: status === 429 ? "requests" : status >= 500 ? "server_error" : "invalid_request_error", param: null, code: code ?? (status === 401 ? "invalid_api_key" : null) },
  }),
};

export const startOpenAiFake = (o: FakeOptions) => startFake(openAiShape, o);
