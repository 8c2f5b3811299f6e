// What the LLM processors need, built once per worker process from config (tests build it themselves).
import type { Pool } from "../../db/pool.ts";
import type { Fleet } from "../../queues/fleet.ts";
import type { Budget } from "../../queues/quota.ts";
import type { Logger } from "../../ops/logger.ts";
import type { WorkerDeps } from "../deps.ts";
import { priceTable, type PriceTable } from "./pricing.ts";
import { buildProviders, NO_PROVIDER_MESSAGE } from "./providers/index.ts";
import { warmFetch } from "./providers/send-gate.ts";
import { budgetsFromConfig, LlmQuota } from "../../queues/llm-quota.ts";
import { DEFAULT_RETRY, type RetryPolicy } from "./retry.ts";
import type { ProviderAdapter, Tier } from "./types.ts";

export interface LlmDeps {
  pool: Pool;
  fleet: Fleet;
  log: Logger;
  providers: readonly ProviderAdapter[];
  tierOrder: readonly Tier[];
  quota: LlmQuota;
  prices: PriceTable;
  retry: RetryPolicy;
}

export interface LlmDepsOptions {
  providers: readonly ProviderAdapter[];
  budgets: ReadonlyMap<string, Budget>;
  tierOrder?: readonly Tier[];
  prices?: PriceTable;
  retry?: RetryPolicy;
}

export function llmDeps(base: Pick<WorkerDeps, "pool" | "fleet" | "log">, o: LlmDepsOptions): LlmDeps {
  if (o.providers.length) warmFetch();
  return {
    pool: base.pool,
    fleet: base.fleet,
    log: base.log,
    providers: o.providers,
    tierOrder: o.tierOrder ?? ["free", "subscription", "paid"],
    // The producer-side connection of the fleet carries the quota scripts too: no extra connection per worker.
    quota: new LlmQuota(base.fleet.redis, base.fleet.prefix, o.budgets, base.pool, base.log),
    prices: o.prices ?? priceTable(),
    retry: o.retry ?? DEFAULT_RETRY,
  };
}

export function llmDepsFromConfig(deps: Pick<WorkerDeps, "pool" | "fleet" | "log" | "cfg">): LlmDeps {
  const { cfg } = deps;
  const providers = buildProviders(cfg);
  if (!providers.length) deps.log.warn(`LLM tasks: ${NO_PROVIDER_MESSAGE}`);
  else if (cfg.LLM_OFFLINE) deps.log.warn("LLM tasks: LLM_OFFLINE=1 — every task goes to the offline provider; no model is called");
  return llmDeps(deps, {
    providers,
    budgets: budgetsFromConfig(cfg),
    tierOrder: cfg.LLM_TIER_ORDER,
    prices: priceTable(cfg.LLM_PRICES),
  });
}
