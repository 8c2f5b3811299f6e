// Anthropic Messages as the real API speaks it: POST /v1/messages with an anthropic-version header and the
// key in x-api-key (API versions up to 2023-06-01) or Authorization: Bearer (2026-10-21, what SDK 1.x
// sends); message bodies with usage; named SSE events; {"type": "error", "error": {...}} on failure.
import { bearer, startFake, unknownKey, type FakeOptions, type ProviderShape } from "./harness.ts";

const ALLOWED = ["model", "max_tokens", "messages", "system", "stream", "temperature", "metadata", "stop_sequences"];
const ERROR_TYPES: Record<number, string> = { 400: "invalid_request_error", 401: "authentication_error", 403: "permission_error", 404: "not_found_error", 429: "rate_limit_error", 500: "api_error", 529: "overloaded_error" };

export const anthropicShape: ProviderShape = {
  name: "anthropic",
  route: (method, path) => (method === "POST" && path === "/v1/messages" ? {} : undefined),
  check(req, key) {
    const version = req.headers["anthropic-version"];
    if (!version || !/^\d{4}-\d{2}-\d{2}$/.test(version)) return { status: 400, message: "anthropic-version header is required" };
    const k = req.headers["x-api-key"] ?? bearer(req.headers);
    if (k === undefined) return { status: 401, message: "missing x-api-key or Authorization header" };
    if (k !== key) return { status: 401, message: "invalid x-api-key" };
    const b = req.body;
    const extra = unknownKey(b, ALLOWED);
    if (extra) return { status: 400, message: `${extra}: Extra inputs are not permitted` };
    if (typeof b.model !== "string" || !b.model) return { status: 400, message: "model: Field required" };
    if (!(Number.isInteger(b.max_tokens) && (b.max_tokens as number) > 0)) return { status: 400, message: "max_tokens: Field required" };
    if (b.system !== undefined && typeof b.system !== "string" && !Array.isArray(b.system)) return { status: 400, message: "system: must be a string or blocks" };
    const msgs = b.messages as Array<{ role?: unknown; content?: unknown }> | undefined;
    if (!Array.isArray(msgs) || !msgs.length) return { status: 400, message: "messages: at least one message is required" };
    if (msgs.some((m) => !["user", "assistant"].includes(String(m.role)) || (typeof m.content !== "string" && !Array.isArray(m.content)))) {
      return { status: 400, message: "messages: roles must be user/assistant (system goes in the top-level system field)" };
    }
    if (msgs[0]!.role !== "user") return { status: 400, message: "messages: first message must use the user role" };
    return undefined;
  },
  wantsStream: (req) => req.body.stream === true,
  okBody: (model, text, usage) => ({
    id: "msg_fake",
    type: "message",
    role: "assistant",
    model,
    content: [{ type: "text", text }],
    stop_reason: "end_turn",
    stop_sequence: null,
    ...(usage ? { usage: { input_tokens: usage.input, output_tokens: usage.output } } : {}),
  }),
  streamEvents(model, chunks, usage, done) {
    const ev = (type: string, data: object) => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}`;
    const events = [
      ev("message_start", { message: { id: "msg_fake", type: "message", role: "assistant", model, content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: usage?.input ?? 11, output_tokens: 1 } } }),
      ev("content_block_start", { index: 0, content_block: { type: "text", text: "" } }),
      ev("ping", {}),
      ...chunks.map((c) => ev("content_block_delta", { index: 0, delta: { type: "text_delta", text: c } })),
    ];
    if (!done) return events;
    return [...events, ev("content_block_stop", { index: 0 }), ev("message_delta", { delta: { stop_reason: "end_turn", stop_sequence: null }, usage: { output_tokens: usage?.output ?? 0 } }), ev("message_stop", {})];
  },
  errorBody: (status, message) => ({ type: "error", error: { type: ERROR_TYPES[status] ?? "api_error", message } }),
};

export const startAnthropicFake = (o: FakeOptions) => startFake(anthropicShape, o);
