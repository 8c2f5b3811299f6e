// Per-provider budgets on real Redis: daily 50/80/90 % warnings recorded once across processes for the
// alerts engine, the local day of a time zone, live usage figures; and the labelled offline provider.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { budgetWarningsSince } from "../../db/repos/llm-budget.ts";
import { parseConfig } from "../../ops/config.ts";
import { enqueue } from "../../queues/enqueue.ts";
import { newTaskId, type LlmResult } from "../../queues/kinds/llm.ts";
import { dayKey, msUntilNextDay } from "../../queues/quota-time.ts";
import { llmKind } from "../../queues/registry.ts";
import { llmDepsFromConfig } from "../../workers/llm/deps.ts";
import { llmProcessor } from "../../workers/llm/processor.ts";
import { OFFLINE_LABEL } from "../../workers/llm/providers/offline.ts";
import { LlmQuota, llmQuotaFromConfig, NoQuotaError, windowEdge } from "../../queues/llm-quota.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/db.ts";
import { testFleet, type TestFleet } from "../helpers/fleet.ts";
import { settled } from "../fakes/llm-setup.ts";
import { poll } from "../helpers/wait.ts";

let db: TestDatabase;
let tf: TestFleet;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db.drop());
afterEach(() => tf?.close());

describe("LLM budgets", () => {
  it("warns once at 50, 80 and 90 % of a daily budget, across processes, on the local day", async () => {
    tf = testFleet("llmq");
    const tz = "Pacific/Kiritimati"; // UTC+14: its day is often not the UTC day
    const budgets = new Map([["gemini", { day: { requests: 10, tokens: 1_000 }, tz }]]);
    // Two quota clients on the same keys stand for two worker processes.
    const a = new LlmQuota(tf.fleet.redis, tf.prefix, budgets, db.pool, tf.log.log);
    const b = new LlmQuota(tf.fleet.redis, tf.prefix, budgets, db.pool, tf.log.log);
    for (let i = 0; i < 10; i++) await (i % 2 ? a : b).reserve("gemini", 60);
    const err = await a.reserve("gemini", 60).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NoQuotaError);
    expect(err).toMatchObject({ reason: "day" });
    expect(Math.abs((err as NoQuotaError).retryAfterMs - msUntilNextDay(Date.now(), tz))).toBeLessThan(5_000);
    const ws = await budgetWarningsSince(db.pool);
    const day = dayKey(Date.now(), tz);
    expect(ws.map((w) => [w.provider, w.day, w.measure, w.threshold, w.used, w.budget])).toEqual([
      ["gemini", day, "requests", 50, 5, 10],
      ["gemini", day, "requests", 80, 8, 10],
      ["gemini", day, "requests", 90, 9, 10],
      ["gemini", day, "tokens", 50, 540, 1_000],
    ]);
    // Tokens: 600 reserved so far; the next big reservation crosses 80 and 90 % at once.
    const more = new LlmQuota(tf.fleet.redis, tf.prefix, new Map([["gemini", { day: { requests: 100, tokens: 1_000 }, tz }]]), db.pool, tf.log.log);
    await more.reserve("gemini", 350);
    const later = await budgetWarningsSince(db.pool, ws.at(-1)!.warningId);
    expect(later.map((w) => `${w.measure}:${w.threshold}`)).toEqual(["tokens:80", "tokens:90"]);
    expect(tf.log.records().filter((r) => String(r.msg).startsWith("LLM budget: gemini used"))).toHaveLength(6);
  });

  it("reports live usage and what a provider can take now", async () => {
    tf = testFleet("llmq");
    const budget = { day: { requests: 100 }, window: { ms: 3_600_000, requests: 10 }, maxConcurrent: 3 };
    const q = new LlmQuota(tf.fleet.redis, tf.prefix, new Map([["openai", budget]]), db.pool, tf.log.log);
    // Not in the closing second of the hour, when no grants are made.
    await poll(() => windowEdge(budget, Date.now()) === 0, "the hour's closing second to pass", 2_000);
    expect(await q.available("openai")).toBe(3);
    const l1 = await q.reserve("openai", 100);
    await q.reserve("openai", 100);
    expect(await q.available("openai")).toBe(1);
    await q.settle(l1, 40);
    expect(await q.available("openai")).toBe(2);
    expect(await q.budgetUsage(["openai"])).toEqual([
      { provider: "openai", dayRequests: 2, dayRequestBudget: 100, dayRequestsPct: 2, dayTokens: 140, dayTokenBudget: null, dayTokensPct: null, minuteRequests: 2, minuteTokens: 140, inFlight: 1 },
    ]);
  });
});

describe("quota from config", () => {
  it("every process's quota has the configured budgets of every provider, the offline one without any", async () => {
    tf = testFleet("llmcfg");
    const cfg = parseConfig({ GEMINI_BUDGET: "rpd=7,tpd=900", OPENAI_BUDGET: "rpm=5", LLM_QUOTA_TZ: "Asia/Tokyo" });
    const q = llmQuotaFromConfig(cfg, tf.fleet, db.pool, tf.log.log);
    expect(q.providers).toEqual(["gemini", "openai", "anthropic", "offline"]);
    await q.reserve("gemini", 100);
    const usage = await q.budgetUsage(q.providers);
    expect(usage.map((u) => [u.provider, u.dayRequests, u.dayRequestBudget, u.dayTokenBudget])).toEqual([
      ["gemini", 1, 7, 900],
      ["openai", 0, null, null],
      ["anthropic", 0, 5_000, null],
      ["offline", 0, null, null],
    ]);
    // The same keys as a worker's quota: what one process reserves, another one sees.
    const worker = llmDepsFromConfig({ pool: db.pool, fleet: tf.fleet, cfg, log: tf.log.log }).quota;
    expect((await worker.budgetUsage(["gemini"]))[0]!.dayRequests).toBe(1);
  });
});

describe("without keys", () => {
  it("LLM_OFFLINE=1 sends tasks to the offline provider, labelled as such in the result and the ledger", async () => {
    tf = testFleet("llmoff");
    const cfg = parseConfig({ LLM_OFFLINE: "1" });
    const deps = llmDepsFromConfig({ pool: db.pool, fleet: tf.fleet, cfg, log: tf.log.log });
    await tf.worker(llmKind, llmProcessor(deps));
    expect(tf.log.records().some((r) => String(r.msg).includes("offline provider; no model is called"))).toBe(true);
    const job = await enqueue(tf.fleet, llmKind, { node: "task", taskId: newTaskId(), prompt: "What moved BTC today?" });
    const { state, job: done } = await settled(tf, job.id!);
    expect(state).toBe("completed");
    const r = done.returnvalue as LlmResult;
    expect(r).toMatchObject({ provider: "offline", model: "offline", tier: "offline", costUsd: 0 });
    expect(r.text.startsWith(OFFLINE_LABEL)).toBe(true);
    const rows = (await db.pool.query("SELECT provider, tier, status, usage_estimated, cost_usd::float8 AS cost FROM llm_calls WHERE task_id = $1", [job.data.taskId])).rows;
    expect(rows).toEqual([{ provider: "offline", tier: "offline", status: "ok", usage_estimated: true, cost: 0 }]);
  });

  it("with no key and no LLM_OFFLINE the worker says so at start and fails LLM jobs with that message", async () => {
    tf = testFleet("llmnone");
    const deps = llmDepsFromConfig({ pool: db.pool, fleet: tf.fleet, cfg: parseConfig({}), log: tf.log.log });
    expect(deps.providers).toEqual([]);
    expect(tf.log.records().some((r) => /^LLM tasks: skipped: no LLM provider is configured/.test(String(r.msg)))).toBe(true);
  });
});
