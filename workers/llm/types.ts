// The provider-neutral shape of one model call, and what an adapter must do with it.
export type Tier = "free" | "subscription" | "paid" | "offline";

export interface ChatRequest {
  system?: string;
  prompt: string;
  maxOutputTokens: number;
  stream: boolean;
  /** Aborts the HTTP request (cancellation, shutdown, the job's timeout). */
  signal: AbortSignal;
  /** Runs right before the HTTP request is sent; throwing stops it (nothing is sent). */
  beforeSend?: () => Promise<void>;
  /** Called with each streamed piece of text as it arrives. */
  onText?: (chunk: string) => void;
}

export interface Usage {
  inputTokens: number;
  outputTokens: number;
  /** The response carried no usage; the counts were estimated from the text. */
  estimated: boolean;
}

export interface ChatResponse {
  text: string;
  model: string;
  usage: Usage;
}

export interface ProviderAdapter {
  /** Routing name: "gemini", "openai", "anthropic" or "offline". */
  readonly name: string;
  readonly model: string;
  readonly tier: Tier;
  /** Throws the classes of ./errors.ts; never retries by itself. */
  complete(req: ChatRequest): Promise<ChatResponse>;
}

/** ~4 characters per token: used for quota reservations and when a response omits usage. */
export const estimateTokens = (text: string) => Math.ceil(text.length / 4);

/** The reported usage, or an estimate (flagged) when the response carried none. */
export function usageOrEstimate(input: number | undefined, output: number | undefined, req: Pick<ChatRequest, "system" | "prompt">, text: string): Usage {
  if (typeof input === "number" && typeof output === "number") return { inputTokens: input, outputTokens: output, estimated: false };
  return { inputTokens: input ?? estimateTokens(`${req.system ?? ""}${req.prompt}`), outputTokens: output ?? estimateTokens(text), estimated: true };
}
