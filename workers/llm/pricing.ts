// USD per million tokens, by "provider:model" with "provider:*" as the provider's fallback. LLM_PRICES
// overrides or extends this table. Free-tier and subscription calls cost nothing per call; the offline
// provider costs nothing at all.
import type { Tier } from "./types.ts";

export interface Price {
  input: number;
  output: number;
}

export type PriceTable = Readonly<Record<string, Price>>;

export const DEFAULT_PRICES: PriceTable = Object.freeze({
  "openai:gpt-4o-mini": { input: 0.15, output: 0.6 },
  "openai:gpt-4o": { input: 2.5, output: 10 },
  "openai:*": { input: 2.5, output: 10 },
  "anthropic:claude-sonnet-4-5": { input: 3, output: 15 },
  "anthropic:claude-haiku-4-5": { input: 1, output: 5 },
  "anthropic:*": { input: 3, output: 15 },
  "gemini:gemini-2.5-flash": { input: 0.3, output: 2.5 },
  "gemini:*": { input: 0.3, output: 2.5 },
});

export function priceTable(overrides: Record<string, Price> = {}): PriceTable {
  return Object.freeze({ ...DEFAULT_PRICES, ...overrides });
}

/** Price of a call; unknown models of a known provider use its "*" entry, unknown providers cost 0. */
export function priceFor(table: PriceTable, provider: string, model: string, tier: Tier): Price {
  if (tier !== "paid") return { input: 0, output: 0 };
  return table[`${provider}:${model}`] ?? table[`${provider}:*`] ?? { input: 0, output: 0 };
}

export function callCost(price: Price, inputTokens: number, outputTokens: number): number {
  return Math.round(((inputTokens * price.input + outputTokens * price.output) / 1e6) * 1e8) / 1e8;
}
