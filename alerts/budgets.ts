// The llm-budget rule's input from the LLM layer's live quota use (queues/llm-quota.ts LlmQuota
// .budgetUsage): per provider, the daily measure (requests or tokens) that is closest to its budget.
import type { BudgetUsage } from "./sources.ts";

export interface ProviderUsage {
  provider: string;
  dayRequests: number;
  dayRequestBudget: number | null;
  dayTokens: number;
  dayTokenBudget: number | null;
}

export function budgetUsageFrom(read: (providers: readonly string[]) => Promise<ProviderUsage[]>, providers: readonly string[]): BudgetUsage {
  return async () =>
    (await read(providers)).flatMap((u) => {
      const measures = [
        { measure: "requests" as const, used: u.dayRequests, limit: u.dayRequestBudget ?? 0 },
        { measure: "tokens" as const, used: u.dayTokens, limit: u.dayTokenBudget ?? 0 },
      ].filter((m) => m.limit > 0);
      if (!measures.length) return [];
      const top = measures.reduce((a, b) => (b.used / b.limit > a.used / a.limit ? b : a));
      return [{ provider: u.provider, ...top }];
    });
}
