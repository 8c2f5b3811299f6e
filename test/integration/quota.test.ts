// Fleet-wide budgets on real Redis: atomic reserve/settle/release, leases that expire with a dead holder,
// fleet-wide back-off, and many clients sharing one budget — each on a connection of its own, as worker
// processes are — through the path production uses (LlmQuota, callProvider): never over budget, every
// call done. (Real worker processes against a provider fake: llm-processes.test.ts.)
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { closeRedis, createRedis, type Redis } from "../../queues/connection.ts";
import { QuotaStore, type Budget } from "../../queues/quota.ts";
import { dayKey, msUntilNextDay } from "../../queues/quota-time.ts";
import { LlmQuota, NoQuotaError } from "../../queues/llm-quota.ts";
import { callProvider } from "../../workers/llm/call.ts";
import { priceTable } from "../../workers/llm/pricing.ts";
import type { ChatRequest, ChatResponse, ProviderAdapter } from "../../workers/llm/types.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/db.ts";
import { memoryLogger } from "../helpers/log.ts";
import { deletePrefix, redisUrl, uniquePrefix } from "../helpers/redis.ts";
import { deferred, poll } from "../helpers/wait.ts";

let redis: Redis;
const prefixes: string[] = [];
beforeAll(() => {
  redis = createRedis(redisUrl(), "quota-test");
});
afterAll(async () => {
  await Promise.all(prefixes.map(deletePrefix));
  await closeRedis(redis);
});
const store = (budget: Budget) => {
  const prefix = uniquePrefix("quota");
  prefixes.push(prefix);
  return new QuotaStore(redis, prefix, new Map([["p", budget]]));
};

describe("quota store", () => {
  it("never grants more than the window allows, even to concurrent reservers", async () => {
    const s = store({ window: { ms: 60_000, requests: 10 } });
    const results = await Promise.all(Array.from({ length: 50 }, () => s.reserve("p")));
    expect(results.filter((r) => r.ok)).toHaveLength(10);
    const denied = results.find((r) => !r.ok);
    expect(denied).toMatchObject({ ok: false, reason: "window" });
    expect((denied as { retryAfterMs: number }).retryAfterMs).toBeGreaterThan(0);
  });

  it("settles actual tokens and refunds released reservations", async () => {
    const s = store({ day: { requests: 100, tokens: 1_000 } });
    const a = await s.reserve("p", 400);
    const b = await s.reserve("p", 400);
    expect(a.ok && b.ok).toBe(true);
    expect((await s.reserve("p", 400)).ok).toBe(false);
    if (!a.ok || !b.ok) throw new Error("unreachable");
    await s.settle(a.lease, 100); // used less than estimated: 300 tokens come back
    await s.release(b.lease); // never called: request and tokens come back
    const u = await s.usage("p");
    expect([u.dayRequests, u.dayTokens, u.active]).toEqual([1, 100, 0]);
    expect((await s.reserve("p", 800)).ok).toBe(true);
  });

  it("frees a concurrency slot when its holder dies (lease expiry)", async () => {
    const s = store({ maxConcurrent: 1, leaseMs: 300 });
    const first = await s.reserve("p");
    expect(first.ok).toBe(true);
    const second = await s.reserve("p");
    expect(second).toMatchObject({ ok: false, reason: "concurrency" });
    // The holder "dies": nobody settles; the slot opens once the lease passes.
    const later = await poll(async () => ((await s.reserve("p")).ok ? true : undefined), "the lease to expire", 5_000);
    expect(later).toBe(true);
  });

  it("a 429 back-off applies to every reserver of the key", async () => {
    const s = store({ window: { ms: 60_000, requests: 100 } });
    await s.backoff("p", 2_000);
    const other = new QuotaStore(redis, prefixes.at(-1)!, new Map([["p", { window: { ms: 60_000, requests: 100 } }]]));
    const r = await other.reserve("p");
    expect(r).toMatchObject({ ok: false, reason: "backoff" });
    expect((r as { retryAfterMs: number }).retryAfterMs).toBeGreaterThan(1_000);
  });

  it("computes local days and the time to the next local midnight", () => {
    const t = Date.parse("2026-03-29T00:30:00Z"); // Europe/Berlin switches to summer time that night
    expect(dayKey(t, "UTC")).toBe("2026-03-29");
    expect(dayKey(t, "America/New_York")).toBe("2026-03-28");
    expect(msUntilNextDay(t, "UTC")).toBe(23.5 * 3600_000);
    expect(msUntilNextDay(Date.parse("2026-03-28T23:30:00Z"), "Europe/Berlin")).toBe(22.5 * 3600_000);
  });
});

describe("one budget, many clients", () => {
  let db: TestDatabase;
  const conns: Redis[] = [];
  const log = memoryLogger("quota-test").log;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(() => db.drop());
  afterEach(async () => {
    await Promise.all(conns.splice(0).map(closeRedis));
  });

  /** `n` LlmQuota clients over the same keys, each with its own Redis connection. */
  const clients = (n: number, budget: Budget) => {
    const prefix = uniquePrefix("quota-clients");
    prefixes.push(prefix);
    return Array.from({ length: n }, (_, i) => {
      const conn = createRedis(redisUrl(), `quota-client-${i}`);
      conns.push(conn);
      return new LlmQuota(conn, prefix, new Map([["gemini", budget]]), db.pool, log);
    });
  };

  it("concurrent clients together get exactly the day's budget, never one call more", async () => {
    const qs = clients(4, { day: { requests: 25 } });
    const results = await Promise.all(qs.flatMap((q) => Array.from({ length: 10 }, () => q.reserve("gemini", 10).then((lease) => lease, (err: unknown) => err))));
    const refused = results.filter((r) => r instanceof NoQuotaError);
    expect(results.length - refused.length).toBe(25);
    expect(refused).toHaveLength(15);
    expect(refused.every((r) => r.reason === "day")).toBe(true);
    expect((await qs[0]!.store.usage("llm.gemini")).dayRequests).toBe(25);
  });

  it("calls from every client never exceed the in-flight budget, and all of them complete and settle", async () => {
    const inFlightBudget = 3;
    const qs = clients(4, { maxConcurrent: inFlightBudget, day: { tokens: 1_000_000 } });
    // The provider's own count of calls in flight: what the budget exists to protect.
    let inFlight = 0;
    let maxInFlight = 0;
    const provider: ProviderAdapter = {
      name: "gemini",
      model: "gemini-test",
      tier: "free",
      async complete(req: ChatRequest): Promise<ChatResponse> {
        await req.beforeSend?.();
        maxInFlight = Math.max(maxInFlight, ++inFlight);
        // Latency of a real call, so that calls granted together overlap here.
        await new Promise((r) => setTimeout(r, 5));
        inFlight--;
        return { text: "ok", model: this.model, usage: { inputTokens: 7, outputTokens: 3, estimated: false } };
      },
    };
    // A refused call waits for some call to finish (its slot frees) and tries again, as a retried job would.
    let freed = deferred();
    const call = async (q: LlmQuota, taskId: string) => {
      for (;;) {
        const next = freed.promise;
        try {
          const out = await callProvider(provider, { prompt: "p", maxOutputTokens: 10, stream: false, signal: new AbortController().signal }, 100, { taskId, chainId: taskId, attempt: 1, execution: 1, callNo: 1 }, { pool: db.pool, quota: q, prices: priceTable(), log });
          const done = freed;
          freed = deferred();
          done.resolve();
          return out;
        } catch (err) {
          if (!(err instanceof NoQuotaError) || err.reason !== "concurrency") throw err;
          await next;
        }
      }
    };
    const taskIds = qs.flatMap((_, c) => Array.from({ length: 10 }, (_, i) => `quota_${c}_${i}`));
    const outs = await Promise.all(taskIds.map((id, k) => call(qs[k % qs.length]!, id)));
    expect(outs.map((o) => o.response.text)).toEqual(taskIds.map(() => "ok"));
    expect(maxInFlight).toBeGreaterThan(0);
    expect(maxInFlight).toBeLessThanOrEqual(inFlightBudget);
    // Every call settled its actual tokens (10, not the 100 estimated) and gave its slot back.
    const u = await qs[0]!.store.usage("llm.gemini");
    expect([u.dayRequests, u.dayTokens, u.active]).toEqual([40, 400, 0]);
    const ledger = await db.pool.query("SELECT status, count(*)::int AS n FROM llm_calls WHERE task_id LIKE 'quota_%' GROUP BY status");
    expect(ledger.rows).toEqual([{ status: "ok", n: 40 }]);
  });
});
