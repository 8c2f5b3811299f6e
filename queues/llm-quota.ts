// Per-provider budgets on the queue fabric's QuotaStore (fleet-wide, in Redis): requests and tokens per day
// (local day in LLM_QUOTA_TZ), requests and tokens per minute, calls in flight (leases a dead process
// loses). Each grant that crosses 50 / 80 / 90 % of a daily budget records a warning row once.
import type { Config, LlmBudgetSpec } from "../ops/config.ts";
import type { Pool } from "../db/pool.ts";
import { recordBudgetWarnings, type BudgetWarning } from "../db/repos/llm-budget.ts";
import type { Logger } from "../ops/logger.ts";
import { QuotaStore, type Budget, type Lease } from "./quota.ts";
import { dayKey } from "./quota-time.ts";
import type { Redis } from "./connection.ts";
import type { Fleet } from "./fleet.ts";

export const THRESHOLDS = [50, 80, 90] as const;
const LEASE_MS = 60_000;

export const quotaKey = (provider: string) => `llm.${provider}`;

export function budgetFromSpec(spec: LlmBudgetSpec, tz: string): Budget {
  const perMinute = spec.rpm !== undefined || spec.tpm !== undefined;
  const perDay = spec.rpd !== undefined || spec.tpd !== undefined;
  return {
    ...(spec.concurrent !== undefined ? { maxConcurrent: spec.concurrent } : {}),
    ...(perMinute ? { window: { ms: 60_000, ...(spec.rpm !== undefined ? { requests: spec.rpm } : {}), ...(spec.tpm !== undefined ? { tokens: spec.tpm } : {}) } } : {}),
    ...(perDay ? { day: { ...(spec.rpd !== undefined ? { requests: spec.rpd } : {}), ...(spec.tpd !== undefined ? { tokens: spec.tpd } : {}) } } : {}),
    tz,
    leaseMs: LEASE_MS,
  };
}

/** Budgets of every provider from config; the offline provider has none. */
export function budgetsFromConfig(cfg: Config): Map<string, Budget> {
  const tz = cfg.LLM_QUOTA_TZ;
  return new Map([
    ["gemini", budgetFromSpec(cfg.GEMINI_BUDGET, tz)],
    ["openai", budgetFromSpec(cfg.OPENAI_BUDGET, tz)],
    ["anthropic", budgetFromSpec(cfg.ANTHROPIC_BUDGET, tz)],
    ["offline", { tz, leaseMs: LEASE_MS }],
  ]);
}

/**
 * A provider counts a call when it arrives; the store counts it when granted. No grants or sends in the last
 * 5 % of a window (at most 1 s) keep a call counted in one window from landing in the next while in
 * transit. Returns the wait until the next window, or 0 outside that band.
 */
export function windowEdge(b: Budget, now: number): number {
  if (!b.window) return 0;
  const left = b.window.ms - (now % b.window.ms);
  return left <= Math.min(1_000, b.window.ms * 0.05) ? left : 0;
}

export class NoQuotaError extends Error {
  override name = "NoQuotaError";
  constructor(
    readonly provider: string,
    readonly reason: "concurrency" | "window" | "day" | "backoff",
    readonly retryAfterMs: number,
  ) {
    super(`${provider}: no quota (${reason}; retry in ${Math.ceil(retryAfterMs / 1000)} s)`);
  }
}

/** Thresholds a daily measure passed between `before` and `after`. */
export function crossed(before: number, after: number, budget: number | undefined): number[] {
  if (!budget) return [];
  return THRESHOLDS.filter((t) => before < (budget * t) / 100 && after >= (budget * t) / 100);
}

/**
 * The quota every process builds from config (workers, scheduler, web, bot); it shares the fleet's
 * producer-side connection, so it costs no extra connection.
 */
export function llmQuotaFromConfig(cfg: Config, fleet: Pick<Fleet, "redis" | "prefix">, pool: Pool, log: Logger): LlmQuota {
  return new LlmQuota(fleet.redis, fleet.prefix, budgetsFromConfig(cfg), pool, log);
}

export class LlmQuota {
  readonly store: QuotaStore;
  /** Every provider it keeps a budget for (the offline one has no limits): what usage reads cover. */
  readonly providers: readonly string[];

  constructor(
    redis: Redis,
    prefix: string,
    private readonly budgets: ReadonlyMap<string, Budget>,
    private readonly pool: Pool,
    private readonly log: Logger,
  ) {
    this.store = new QuotaStore(redis, prefix, new Map([...budgets].map(([p, b]) => [quotaKey(p), b])));
    this.providers = Object.freeze([...budgets.keys()]);
  }

  /** A lease for one call of `tokens` (estimated), or NoQuotaError with when to try again. */
  async reserve(provider: string, tokens: number): Promise<Lease> {
    const b = this.budgets.get(provider)!;
    const edge = windowEdge(b, Date.now());
    if (edge) throw new NoQuotaError(provider, "window", edge);
    const r = await this.store.reserve(quotaKey(provider), tokens);
    if (!r.ok) throw new NoQuotaError(provider, r.reason, r.retryAfterMs);
    const day = dayKey(r.lease.grantedAt, b.tz ?? "UTC");
    const warnings: BudgetWarning[] = [
      ...crossed(r.usage.dayRequests - 1, r.usage.dayRequests, b.day?.requests).map((t) => ({ measure: "requests" as const, threshold: t, used: r.usage.dayRequests, budget: b.day!.requests! })),
      ...crossed(r.usage.dayTokens - tokens, r.usage.dayTokens, b.day?.tokens).map((t) => ({ measure: "tokens" as const, threshold: t, used: r.usage.dayTokens, budget: b.day!.tokens! })),
    ].map((w) => ({ ...w, provider, day, threshold: w.threshold as BudgetWarning["threshold"] }));
    if (warnings.length) {
      // A warning that cannot be stored must not cost the call its lease.
      const fresh = await recordBudgetWarnings(this.pool, warnings).catch((err: Error) => (this.log.warn({ err: err.message }, "could not record LLM budget warning"), []));
      for (const w of fresh) this.log.warn(w, `LLM budget: ${provider} used ${w.threshold} % of its daily ${w.measure}`);
    }
    return r.lease;
  }

  /**
   * Right before sending: a call counted in one per-minute window must also reach the provider in it. If
   * the window turned since the grant (or is about to), the call is counted again in the next one, or
   * waits for quota.
   */
  async confirm(provider: string, lease: Lease, tokens: number): Promise<Lease> {
    const b = this.budgets.get(provider)!;
    const now = Date.now();
    if (!b.window || (Math.floor(now / b.window.ms) === Math.floor(lease.grantedAt / b.window.ms) && !windowEdge(b, now))) return lease;
    await this.store.release(lease);
    return this.reserve(provider, tokens);
  }

  settle(lease: Lease, tokens: number): Promise<void> {
    return this.store.settle(lease, tokens);
  }

  release(lease: Lease): Promise<void> {
    return this.store.release(lease);
  }

  extend(lease: Lease): Promise<void> {
    return this.store.extend(lease);
  }

  /** A 429's retry-after: every process of the fleet stays off this provider until it passes. */
  backoff(provider: string, ms: number): Promise<void> {
    return this.store.backoff(quotaKey(provider), ms);
  }

  /** Calls the provider could take right now (the tightest of day, minute and in-flight budgets). */
  async available(provider: string): Promise<number> {
    const u = await this.store.usage(quotaKey(provider));
    const b = u.budget;
    return Math.max(0, Math.min(
      b.day?.requests !== undefined ? b.day.requests - u.dayRequests : Infinity,
      b.window?.requests !== undefined ? b.window.requests - u.windowRequests : Infinity,
      b.maxConcurrent !== undefined ? b.maxConcurrent - u.active : Infinity,
    ));
  }

  /** Live use of each provider's budgets, for status output and alert rules. */
  async budgetUsage(providers: readonly string[]) {
    return Promise.all(
      providers.map(async (provider) => {
        const u = await this.store.usage(quotaKey(provider));
        const pct = (used: number, budget: number | undefined) => (budget ? Math.round((used / budget) * 1000) / 10 : null);
        return {
          provider,
          dayRequests: u.dayRequests,
          dayRequestBudget: u.budget.day?.requests ?? null,
          dayRequestsPct: pct(u.dayRequests, u.budget.day?.requests),
          dayTokens: u.dayTokens,
          dayTokenBudget: u.budget.day?.tokens ?? null,
          dayTokensPct: pct(u.dayTokens, u.budget.day?.tokens),
          minuteRequests: u.windowRequests,
          minuteTokens: u.windowTokens,
          inFlight: u.active,
        };
      }),
    );
  }
}
