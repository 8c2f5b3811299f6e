// The offline provider (LLM_OFFLINE=1): no model is called. Its answers say so, its name is "offline" in
// results, ledger rows and logs, and it costs nothing — a way to run the fleet without keys, never a fake.
import { estimateTokens, type ChatRequest, type ChatResponse, type ProviderAdapter } from "../types.ts";
import { CallCancelledError } from "../errors.ts";

export const OFFLINE_LABEL = "[offline provider: no model was called]";

export function offlineProvider(): ProviderAdapter {
  return {
    name: "offline",
    model: "offline",
    tier: "offline",
    async complete(req: ChatRequest): Promise<ChatResponse> {
      if (req.signal.aborted) throw new CallCancelledError("offline: cancelled", { text: "", usage: { inputTokens: 0, outputTokens: 0, estimated: true } });
      await req.beforeSend?.();
      const text = `${OFFLINE_LABEL} received a prompt of ${req.prompt.length} characters.`;
      return { text, model: "offline", usage: { inputTokens: estimateTokens(`${req.system ?? ""}${req.prompt}`), outputTokens: estimateTokens(text), estimated: true } };
    },
  };
}
