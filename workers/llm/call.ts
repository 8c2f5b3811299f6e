// One call to one provider: reserve quota (estimated tokens), open the ledger row, call, settle the quota
// with the actual usage and close the row. A 429's retry-after becomes a fleet-wide backoff.
import type { Pool } from "../../db/pool.ts";
import { discardCall, finishCall, startCall, type CallEnd, type CallKey } from "../../db/repos/llm-ledger.ts";
import type { Logger } from "../../ops/logger.ts";
import { CallCancelledError, InvalidRequestError, ProviderUnusableError, RetryableCallError } from "./errors.ts";
import { callCost, priceFor, type PriceTable } from "./pricing.ts";
import { NoQuotaError, type LlmQuota } from "../../queues/llm-quota.ts";
import type { ChatRequest, ChatResponse, ProviderAdapter, Usage } from "./types.ts";

export interface CallIdentity {
  taskId: string;
  chainId: string;
  traceId?: string;
  jobId?: string;
  /** The job's attempt and how many times the job has been started (a stalled re-run starts again). */
  attempt: number;
  execution: number;
}

export interface CallDeps {
  pool: Pool;
  quota: LlmQuota;
  prices: PriceTable;
  log: Logger;
}

export interface CallOutcome {
  response: ChatResponse;
  costUsd: number;
}

export async function callProvider(
  provider: ProviderAdapter,
  req: ChatRequest,
  estimatedTokens: number,
  id: CallIdentity & { callNo: number },
  deps: CallDeps,
): Promise<CallOutcome> {
  let lease = await deps.quota.reserve(provider.name, estimatedTokens);
  const key: CallKey = { taskId: id.taskId, callAttempt: `${id.attempt}.${id.execution}.${id.callNo}` };
  try {
    await startCall(deps.pool, { ...key, chainId: id.chainId, traceId: id.traceId, jobId: id.jobId, provider: provider.name, model: provider.model, tier: provider.tier, attempt: id.attempt });
  } catch (err) {
    await deps.quota.release(lease).catch((e: Error) => deps.log.debug({ err: e.message, provider: provider.name }, "could not release the LLM quota lease; it lapses by itself"));
    throw err;
  }
  // Long calls keep their in-flight slot; a dead process stops extending and the slot frees itself.
  const keepAlive = setInterval(
    () => void deps.quota.extend(lease).catch((e: Error) => deps.log.debug({ err: e.message, provider: provider.name }, "could not extend the LLM quota lease; tried again in 20 s")),
    20_000,
  );
  keepAlive.unref();
  const price = priceFor(deps.prices, provider.name, provider.model, provider.tier);
  const t0 = performance.now();
  const close = async (usage: Usage | undefined, end: Omit<CallEnd, "inputTokens" | "outputTokens" | "usageEstimated" | "costUsd" | "latencyMs">) => {
    const tokens = usage ? usage.inputTokens + usage.outputTokens : 0;
    const costUsd = usage ? callCost(price, usage.inputTokens, usage.outputTokens) : 0;
    const latencyMs = performance.now() - t0;
    await deps.quota.settle(lease, tokens).catch((err: Error) => deps.log.warn({ err: err.message, provider: provider.name }, "could not settle LLM quota"));
    await finishCall(deps.pool, key, { ...end, inputTokens: usage?.inputTokens ?? 0, outputTokens: usage?.outputTokens ?? 0, usageEstimated: usage?.estimated ?? false, costUsd, latencyMs });
    deps.log.info({ provider: provider.name, model: provider.model, status: end.status, httpStatus: end.httpStatus, tokensIn: usage?.inputTokens ?? 0, tokensOut: usage?.outputTokens ?? 0, costUsd, latencyMs: Math.round(latencyMs) }, "llm call");
    return costUsd;
  };
  // At the moment of sending, the call must still fall in the per-minute window it was counted in.
  const beforeSend = async () => {
    lease = await deps.quota.confirm(provider.name, lease, estimatedTokens);
  };
  try {
    const response = await provider.complete({ ...req, beforeSend });
    return { response, costUsd: await close(response.usage, { status: "ok" }) };
  } catch (err) {
    if (err instanceof NoQuotaError) {
      // Refused at sending time (the new window had no quota): nothing was sent, the lease is already back.
      await discardCall(deps.pool, key);
    } else if (err instanceof CallCancelledError) {
      await close(err.partial.usage, { status: "cancelled", error: err.message });
    } else if (err instanceof RetryableCallError) {
      if (err.reason === "rate_limited" && err.retryAfterMs) {
        await deps.quota.backoff(provider.name, err.retryAfterMs).catch((e: Error) => deps.log.debug({ err: e.message, provider: provider.name }, "could not share the provider's retry-after; its next 429 says it again"));
      }
      await close(undefined, { status: err.reason === "rate_limited" ? "rate_limited" : "error", error: err.message, ...(err.status ? { httpStatus: err.status } : {}) });
    } else if (err instanceof ProviderUnusableError || err instanceof InvalidRequestError) {
      await close(undefined, { status: "error", error: err.message, ...(err.status ? { httpStatus: err.status } : {}) });
    } else {
      await close(undefined, { status: "error", error: String((err as Error)?.message ?? err) });
    }
    throw err;
  } finally {
    clearInterval(keepAlive);
  }
}
