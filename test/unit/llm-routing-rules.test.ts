import { describe, expect, it } from "vitest";
import { parseConfig } from "../../ops/config.ts";
import { derivedTaskId, newTaskId, TASK_ID } from "../../queues/kinds/llm.ts";
import { summarize } from "../../workers/llm/handoff.ts";
import { callCost, priceFor, priceTable } from "../../workers/llm/pricing.ts";
import { buildProviders } from "../../workers/llm/providers/index.ts";
import { budgetFromSpec, crossed, windowEdge } from "../../queues/llm-quota.ts";
import { routeOrder } from "../../workers/llm/router.ts";
import type { ProviderAdapter, Tier } from "../../workers/llm/types.ts";

const p = (name: string, tier: Tier) => ({ name, tier, model: "m", complete: async () => ({ text: "", model: "m", usage: { inputTokens: 0, outputTokens: 0, estimated: true } }) }) as ProviderAdapter;
const names = (ps: ProviderAdapter[]) => ps.map((x) => x.name);

describe("route order", () => {
  const all = [p("openai", "paid"), p("claude-pro", "subscription"), p("gemini", "free"), p("anthropic", "paid")];
  it("sorts by cost tier, keeping configured order within a tier", () => {
    expect(names(routeOrder(all, ["free", "subscription", "paid"]))).toEqual(["gemini", "claude-pro", "openai", "anthropic"]);
  });
  it("puts an advisory hint first and ignores an unknown one", () => {
    expect(names(routeOrder(all, ["free", "subscription", "paid"], "anthropic"))).toEqual(["anthropic", "gemini", "claude-pro", "openai"]);
    expect(names(routeOrder(all, ["free", "subscription", "paid"], "mistral"))).toEqual(["gemini", "claude-pro", "openai", "anthropic"]);
  });
  it("follows a configured order and leaves out tiers not listed", () => {
    expect(names(routeOrder(all, ["paid", "free"]))).toEqual(["openai", "anthropic", "gemini"]);
  });
});

describe("providers from config", () => {
  it("none without keys; one per key in free → paid order; only the offline provider with LLM_OFFLINE=1", () => {
    expect(buildProviders(parseConfig({}))).toEqual([]);
    const cfg = parseConfig({ OPENAI_API_KEY: "sk-a", GEMINI_API_KEY: "g-b", OPENAI_BASE_URL: "http://127.0.0.1:9/v1" });
    expect(buildProviders(cfg).map((x) => `${x.name}:${x.tier}:${x.model}`)).toEqual(["gemini:free:gemini-2.5-flash", "openai:paid:gpt-4o-mini"]);
    expect(buildProviders(parseConfig({ LLM_OFFLINE: "1", OPENAI_API_KEY: "sk-a" })).map((x) => `${x.name}:${x.tier}`)).toEqual(["offline:offline"]);
  });
  it("rejects bad LLM settings naming the variable", () => {
    expect(() => parseConfig({ GEMINI_BUDGET: "rpd=lots" })).toThrow(/GEMINI_BUDGET: must look like rpd=1500/);
    expect(() => parseConfig({ LLM_PRICES: '{"gpt":{"input":1,"output":2}}' })).toThrow(/LLM_PRICES/);
    expect(() => parseConfig({ LLM_TIER_ORDER: "free,cheap" })).toThrow(/LLM_TIER_ORDER/);
    expect(() => parseConfig({ OPENAI_API_KEY: "x", OPENAI_BASE_URL: "ftp://x" })).toThrow(/OPENAI_BASE_URL/);
  });
});

describe("budgets", () => {
  it("maps a budget spec onto the quota store's budget", () => {
    expect(budgetFromSpec({ rpd: 1_500, rpm: 15, tpm: 1_000_000, concurrent: 4 }, "Europe/Berlin")).toEqual({
      maxConcurrent: 4,
      window: { ms: 60_000, requests: 15, tokens: 1_000_000 },
      day: { requests: 1_500 },
      tz: "Europe/Berlin",
      leaseMs: 60_000,
    });
    expect(budgetFromSpec({}, "UTC")).toEqual({ tz: "UTC", leaseMs: 60_000 });
  });
  it("reports each 50/80/90 % threshold when it is crossed", () => {
    expect(crossed(749, 750, 1_500)).toEqual([50]);
    expect(crossed(1_000, 1_400, 1_500)).toEqual([80, 90]);
    expect(crossed(750, 751, 1_500)).toEqual([]);
    expect(crossed(0, 10, undefined)).toEqual([]);
  });
  it("grants nothing in the last 5 % of a window (at most 1 s)", () => {
    const b = { window: { ms: 60_000, requests: 10 } };
    expect(windowEdge(b, 60_000 * 7 + 58_000)).toBe(0);
    expect(windowEdge(b, 60_000 * 7 + 59_200)).toBe(800);
    expect(windowEdge({ window: { ms: 1_000 } }, 960)).toBe(40);
    expect(windowEdge({}, 999)).toBe(0);
  });
});

describe("prices, ids, summaries", () => {
  it("prices paid calls per million tokens; free and subscription calls cost nothing", () => {
    const t = priceTable({ "openai:gpt-9": { input: 10, output: 30 } });
    expect(callCost(priceFor(t, "openai", "gpt-4o-mini", "paid"), 1_000_000, 1_000_000)).toBeCloseTo(0.75, 10);
    expect(callCost(priceFor(t, "openai", "gpt-9", "paid"), 1_000, 1_000)).toBeCloseTo(0.04, 10);
    expect(priceFor(t, "openai", "unknown", "paid")).toEqual({ input: 2.5, output: 10 });
    expect(priceFor(t, "gemini", "gemini-2.5-flash", "free")).toEqual({ input: 0, output: 0 });
    expect(priceFor(t, "anthropic", "claude-haiku-4-5", "subscription")).toEqual({ input: 0, output: 0 });
    expect(priceFor(t, "mystery", "x", "paid")).toEqual({ input: 0, output: 0 });
  });
  it("task ids look like {provider}_{yyyymmdd}_{uuid8}; derived ids are stable", () => {
    const id = newTaskId("gemini", new Date("2026-11-22T23:59:00Z"));
    expect(id).toMatch(/^gemini_20261122_[0-9a-f]{8}$/);
    expect(newTaskId()).toMatch(TASK_ID);
    expect(newTaskId("my-llm-2")).toMatch(/^myllm_/);
    expect(derivedTaskId(id, "next")).toBe(derivedTaskId(id, "next"));
    expect(derivedTaskId(id, "next", "openai")).toMatch(/^openai_20261122_[0-9a-f]{8}$/);
  });
  it("summaries are at most 500 characters", () => {
    expect(summarize("short\n  text")).toBe("short text");
    const s = summarize("x".repeat(2_000));
    expect(s).toHaveLength(500);
    expect(s.endsWith("…")).toBe(true);
  });
});
