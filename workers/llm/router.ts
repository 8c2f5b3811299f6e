// Which provider serves a task: providers sorted by cost tier (LLM_TIER_ORDER, default free → subscription
// → paid; tiers not listed are not used), the advisory hint first. Each provider gets its retry cycle; then
// the next one. When none could serve, the caller learns whether to wait for quota or why it failed.
import { PermanentError } from "../errors.ts";
import { callProvider, type CallDeps, type CallIdentity, type CallOutcome } from "./call.ts";
import { InvalidRequestError, ProviderUnusableError, RetryableCallError } from "./errors.ts";
import { NoQuotaError } from "../../queues/llm-quota.ts";
import { retryDelay, sleep, type RetryPolicy } from "./retry.ts";
import type { ChatRequest, ProviderAdapter, Tier } from "./types.ts";

export function routeOrder(providers: readonly ProviderAdapter[], tierOrder: readonly Tier[], hint?: string): ProviderAdapter[] {
  const rank = (p: ProviderAdapter) => (p.tier === "offline" ? -1 : tierOrder.indexOf(p.tier));
  const usable = providers.filter((p) => p.tier === "offline" || tierOrder.includes(p.tier));
  const sorted = usable.map((p, i) => ({ p, i })).sort((a, b) => rank(a.p) - rank(b.p) || a.i - b.i).map((x) => x.p);
  const hinted = sorted.find((p) => p.name === hint);
  return hinted ? [hinted, ...sorted.filter((p) => p !== hinted)] : sorted;
}

export type RouteResult =
  | ({ ok: true; provider: ProviderAdapter } & CallOutcome)
  /** Nobody had quota (or the rest failed): wait this long, then run the task again. */
  | { ok: false; waitMs: number; reasons: string[] };

export interface RouteOptions {
  retry: RetryPolicy;
  signal: AbortSignal;
  /** Epoch ms past which no more waiting or retrying is started. */
  deadline?: number;
  random?: () => number;
}

/** Every provider failed with retryable errors: a provider outage, which costs the job time, not attempts. */
export class ProvidersFailedError extends Error {
  override name = "ProvidersFailedError";
  readonly outage = true;
}

export async function route(order: readonly ProviderAdapter[], req: ChatRequest, estimatedTokens: number, id: CallIdentity, deps: CallDeps, o: RouteOptions): Promise<RouteResult> {
  const reasons: string[] = [];
  const waits: number[] = [];
  let unusable = 0;
  let callNo = 0;
  for (const provider of order) {
    for (let n = 1; ; n++) {
      try {
        const out = await callProvider(provider, req, estimatedTokens, { ...id, callNo: ++callNo }, deps);
        return { ok: true, provider, ...out };
      } catch (err) {
        if (err instanceof NoQuotaError) {
          // An in-flight limit frees up soon, but its lease expiry is only an upper bound: look again shortly.
          waits.push(err.reason === "concurrency" ? Math.min(err.retryAfterMs, 100 + (o.random ?? Math.random)() * 200) : err.retryAfterMs);
          reasons.push(err.message);
          break;
        }
        if (err instanceof InvalidRequestError) throw new PermanentError(`invalid request: ${err.message}`, { cause: err });
        if (err instanceof ProviderUnusableError) {
          reasons.push(err.message);
          unusable++;
          break;
        }
        if (!(err instanceof RetryableCallError)) throw err;
        const delay = retryDelay(o.retry, n + 1, err.retryAfterMs, o.random);
        if (delay === undefined || (o.deadline !== undefined && Date.now() + delay > o.deadline)) {
          reasons.push(`${err.message} (gave up after ${n} attempt${n > 1 ? "s" : ""})`);
          break;
        }
        deps.log.warn({ provider: provider.name, attempt: n, delayMs: Math.round(delay), reason: err.reason }, "llm call failed; retrying");
        await sleep(delay, o.signal);
      }
    }
  }
  if (waits.length) return { ok: false, waitMs: Math.min(...waits), reasons };
  if (!order.length) throw new PermanentError("no provider is usable under LLM_TIER_ORDER");
  const all = `every provider failed: ${reasons.join("; ")}`;
  // Only auth or billing failures everywhere: retrying the job cannot help.
  if (unusable === order.length) throw new PermanentError(all);
  throw new ProvidersFailedError(all);
}
