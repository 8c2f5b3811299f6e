// What the LLM processors need, built once per worker process from config (tests and benches pass their own
// providers and budgets to llmDeps).
import type { Pool } from "../../db/pool.ts";
import { dashboardBase } from "../../alerts/links.ts";
import type { Fleet } from "../../queues/fleet.ts";
import type { Budget } from "../../queues/quota.ts";
import type { Logger } from "../../ops/logger.ts";
import type { WorkerDeps } from "../deps.ts";
import { priceTable, type PriceTable } from "./pricing.ts";
import { buildProviders, NO_PROVIDER_MESSAGE } from "./providers/index.ts";
import { warmFetch } from "./providers/send-gate.ts";
import { LlmQuota, llmQuotaFromConfig } from "../../queues/llm-quota.ts";
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
  /** The web process's base URL, for the run page's link in a brief. */
  dashboardBase?: string;
}

export interface LlmDepsOptions {
  providers: readonly ProviderAdapter[];
  budgets: ReadonlyMap<string, Budget>;
  tierOrder?: readonly Tier[];
  prices?: PriceTable;
  retry?: RetryPolicy;
  dashboardBase?: string;
}

type Base = Pick<WorkerDeps, "pool" | "fleet" | "log">;

export function llmDeps(base: Base, o: LlmDepsOptions): LlmDeps {
  // The producer-side connection of the fleet carries the quota scripts too: no extra connection per worker.
  return assemble(base, new LlmQuota(base.fleet.redis, base.fleet.prefix, o.budgets, base.pool, base.log), o);
}

export function llmDepsFromConfig(deps: Base & Pick<WorkerDeps, "cfg">): LlmDeps {
  const { cfg } = deps;
  const providers = buildProviders(cfg);
  if (!providers.length) deps.log.warn(`LLM tasks: ${NO_PROVIDER_MESSAGE}`);
  else if (cfg.LLM_OFFLINE) deps.log.warn("LLM tasks: LLM_OFFLINE=1 — every task goes to the offline provider; no model is called");
  return assemble(deps, llmQuotaFromConfig(cfg, deps.fleet, deps.pool, deps.log), {
    providers,
    tierOrder: cfg.LLM_TIER_ORDER,
    prices: priceTable(cfg.LLM_PRICES),
    dashboardBase: dashboardBase(cfg),
  });
}

function assemble(base: Base, quota: LlmQuota, o: Omit<LlmDepsOptions, "budgets">): LlmDeps {
  if (o.providers.length) warmFetch();
  return {
    pool: base.pool,
    fleet: base.fleet,
    log: base.log,
    providers: o.providers,
    tierOrder: o.tierOrder ?? ["free", "subscription", "paid"],
    quota,
    prices: o.prices ?? priceTable(),
    retry: o.retry ?? DEFAULT_RETRY,
    ...(o.dashboardBase ? { dashboardBase: o.dashboardBase } : {}),
  };
}
