// The providers this process can call, from config: one per API key, or only the offline provider when
// LLM_OFFLINE=1. No key and no LLM_OFFLINE → none (LLM jobs then fail with a message saying so).
import type { Config } from "../../../ops/config.ts";
import type { ProviderAdapter } from "../types.ts";
import { anthropicProvider } from "./anthropic.ts";
import { geminiProvider } from "./gemini.ts";
import { offlineProvider } from "./offline.ts";
import { openAiProvider } from "./openai.ts";

export function buildProviders(cfg: Config): ProviderAdapter[] {
  if (cfg.LLM_OFFLINE) return [offlineProvider()];
  const timeoutMs = cfg.LLM_CALL_TIMEOUT_MS;
  const out: ProviderAdapter[] = [];
  if (cfg.GEMINI_API_KEY) out.push(geminiProvider({ apiKey: cfg.GEMINI_API_KEY, baseUrl: cfg.GEMINI_BASE_URL, model: cfg.GEMINI_MODEL, tier: cfg.GEMINI_TIER, timeoutMs }));
  if (cfg.OPENAI_API_KEY) out.push(openAiProvider({ apiKey: cfg.OPENAI_API_KEY, baseUrl: cfg.OPENAI_BASE_URL, model: cfg.OPENAI_MODEL, tier: cfg.OPENAI_TIER, timeoutMs }));
  if (cfg.ANTHROPIC_API_KEY) out.push(anthropicProvider({ apiKey: cfg.ANTHROPIC_API_KEY, baseUrl: cfg.ANTHROPIC_BASE_URL, model: cfg.ANTHROPIC_MODEL, tier: cfg.ANTHROPIC_TIER, timeoutMs }));
  return out;
}

export const NO_PROVIDER_MESSAGE =
  "skipped: no LLM provider is configured on this worker (set GEMINI_API_KEY, OPENAI_API_KEY or ANTHROPIC_API_KEY, or LLM_OFFLINE=1 for the labelled offline provider)";
