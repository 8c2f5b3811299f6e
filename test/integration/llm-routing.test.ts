// LLM tasks through the real queue, Redis budgets and PostgreSQL ledger, against local provider fakes:
// tier order, hints, fallback after retries, fleet-wide 429 backoff, waiting for quota, deadlines,
// handoffs, cancellation of a stream, and keys that never leak.
import { Job } from "bullmq";
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { enqueue } from "../../queues/enqueue.ts";
import { llmKind } from "../../queues/registry.ts";
import type { LlmResult } from "../../queues/kinds/llm.ts";
import { closeRedis, createRedis } from "../../queues/connection.ts";
import { NO_PROVIDER_MESSAGE } from "../../workers/llm/providers/index.ts";
import { telemetryHooks } from "../../workers/telemetry-hooks.ts";
import { newTaskId } from "../../queues/kinds/llm.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/db.ts";
import { testFleet, type TestFleet } from "../helpers/fleet.ts";
import { redisUrl } from "../helpers/redis.ts";
import { poll } from "../helpers/wait.ts";
import { ALL_KEYS, FAST_RETRY, llmWorker, providersFor, roomyBudgets, settled, startFakes, type Fakes } from "../fakes/llm-setup.ts";

let db: TestDatabase;
let fakes: Fakes;
let tf: TestFleet;
// Real job spans (the fleet's telemetry hooks), kept in memory for the secrets check.
const spans = new InMemorySpanExporter();
const tracing = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });
const hooks = telemetryHooks({ tracer: tracing.getTracer("llm-test") });
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db.drop();
  await tracing.shutdown();
});
afterEach(async () => {
  await tf?.close();
  await fakes?.close();
});

async function setup(o: Parameters<typeof llmWorker>[2] extends infer O ? Partial<O> : never = {}) {
  fakes = await startFakes();
  tf = testFleet("llm");
  await llmWorker(tf, db, { providers: providersFor(fakes), hooks, ...o });
}
const task = (extra: Record<string, unknown> = {}) => enqueue(tf.fleet, llmKind, { node: "task", taskId: newTaskId(extra.provider as string | undefined), prompt: "Summarise the day.", ...extra });
const calls = async (taskId: string) =>
  (await db.pool.query("SELECT provider, status, http_status, call_attempt, input_tokens, output_tokens, cost_usd::float8 AS cost FROM llm_calls WHERE task_id = $1 ORDER BY call_id", [taskId])).rows;
const hits = () => ({ gemini: fakes.gemini.requests.length, openai: fakes.openai.requests.length, anthropic: fakes.anthropic.requests.length });

describe("routing", () => {
  it("every provider down: the task waits without spending an attempt and completes once one answers", async () => {
    await setup();
    const down = Array.from({ length: FAST_RETRY.attempts }, () => ({ type: "error" as const, status: 503 }));
    fakes.gemini.script(...down);
    fakes.openai.script(...down);
    fakes.anthropic.script(...down);
    const job = await task();
    // After the first full round of failures the job is back in the delayed set, no attempt spent.
    await poll(async () => (await tf.fleet.queue(llmKind).getJobState(job.id!)) === "delayed" && hits().anthropic === FAST_RETRY.attempts, "the task to wait out the outage");
    expect((await Job.fromId(tf.fleet.queue(llmKind), job.id!))?.attemptsMade).toBe(0);
    fakes.gemini.script({ type: "ok", text: "Back." });
    const { state, job: done } = await settled(tf, job.id!);
    expect(state).toBe("completed");
    expect((done.returnvalue as LlmResult).text).toBe("Back.");
    // The successful attempt is the only one counted.
    expect(done.attemptsMade).toBe(1);
  });

  it("goes to the cheapest tier first and records the call in the ledger", async () => {
    await setup();
    fakes.gemini.script({ type: "ok", text: "Quiet day.", usage: { input: 20, output: 4 } });
    const job = await task();
    const { state, job: done } = await settled(tf, job.id!);
    expect(state).toBe("completed");
    expect(done.returnvalue).toMatchObject({ provider: "gemini", tier: "free", text: "Quiet day.", inputTokens: 20, outputTokens: 4, costUsd: 0 });
    expect(hits()).toEqual({ gemini: 1, openai: 0, anthropic: 0 });
    expect(await calls(job.data.taskId)).toEqual([{ provider: "gemini", status: "ok", http_status: null, call_attempt: "1.1.1", input_tokens: 20, output_tokens: 4, cost: 0 }]);
  });

  it("honours a provider hint that has quota, and prices paid calls from the table", async () => {
    await setup();
    fakes.anthropic.script({ type: "ok", usage: { input: 1_000_000, output: 100_000 } });
    const job = await task({ provider: "anthropic" });
    const { job: done } = await settled(tf, job.id!);
    expect((done.returnvalue as LlmResult).provider).toBe("anthropic");
    // claude-haiku-4-5: $1 / $5 per million tokens
    expect((done.returnvalue as LlmResult).costUsd).toBeCloseTo(1.5, 8);
    expect(hits()).toEqual({ gemini: 0, openai: 0, anthropic: 1 });
  });

  it("a hinted provider without quota falls back to the tier order", async () => {
    const budgets = roomyBudgets();
    budgets.set("anthropic", { day: { requests: 0 } });
    await setup({ budgets });
    const job = await task({ provider: "anthropic" });
    const { job: done } = await settled(tf, job.id!);
    expect((done.returnvalue as LlmResult).provider).toBe("gemini");
    expect(hits()).toEqual({ gemini: 1, openai: 0, anthropic: 0 });
  });

  it("falls back after a provider's retries are exhausted (5 attempts with backoff), in tier order", async () => {
    await setup();
    fakes.gemini.script(...Array.from({ length: 5 }, () => ({ type: "error" as const, status: 500 })));
    fakes.openai.script({ type: "error", status: 503 }, { type: "ok", text: "from openai" });
    const job = await task();
    const { job: done } = await settled(tf, job.id!);
    expect((done.returnvalue as LlmResult).provider).toBe("openai");
    expect(hits()).toEqual({ gemini: 5, openai: 2, anthropic: 0 });
    const gaps = fakes.gemini.requests.slice(1).map((r, i) => r.at - fakes.gemini.requests[i]!.at);
    // 20, 40, 80, 160 ms (+ up to 10 ms jitter): each wait at least the exponential step
    gaps.forEach((g, i) => expect(g).toBeGreaterThanOrEqual(20 * 2 ** i - 2));
    const rows = await calls(job.data.taskId);
    expect(rows.map((r) => `${r.provider}:${r.status}:${r.http_status ?? ""}`)).toEqual([
      ...Array.from({ length: 5 }, () => "gemini:error:500"),
      "openai:error:503",
      "openai:ok:",
    ]);
    expect(new Set(rows.map((r) => r.call_attempt)).size).toBe(7);
  });

  it("a 429's retry-after keeps every worker off the provider until it passes", async () => {
    await setup();
    fakes.gemini.script({ type: "error", status: 429, retryAfter: "1" }, { type: "ok", text: "after the wait" });
    const first = await task();
    await fakes.gemini.received(1);
    const t429 = fakes.gemini.requests[0]!.at;
    // A second task arriving during the back-off must not touch gemini.
    const second = await task();
    const s = await settled(tf, second.id!);
    expect((s.job.returnvalue as LlmResult).provider).toBe("openai");
    const f = await settled(tf, first.id!);
    expect((f.job.returnvalue as LlmResult).provider).toBe("gemini");
    expect(fakes.gemini.requests).toHaveLength(2);
    expect(fakes.gemini.requests[1]!.at - t429).toBeGreaterThanOrEqual(1_000);
    expect(await calls(first.data.taskId)).toMatchObject([{ provider: "gemini", status: "rate_limited", http_status: 429 }, { provider: "gemini", status: "ok" }]);
  });

  it("a provider that rejects its key is skipped for the next one; only auth failures everywhere fail the task", async () => {
    await setup();
    fakes.gemini.script({ type: "error", status: 403, message: "permission denied" });
    const ok = await task();
    expect(((await settled(tf, ok.id!)).job.returnvalue as LlmResult).provider).toBe("openai");
    fakes.gemini.script({ type: "error", status: 401 });
    fakes.openai.script({ type: "error", status: 401 });
    fakes.anthropic.script({ type: "error", status: 401 });
    const bad = await task();
    const { state, job } = await settled(tf, bad.id!);
    expect(state).toBe("failed");
    expect(job.attemptsMade).toBe(1);
    expect(job.failedReason).toMatch(/^every provider failed: gemini: HTTP 401.*openai: HTTP 401.*anthropic: HTTP 401/);
  });

  it("an invalid request (400) fails the task without trying other providers", async () => {
    await setup();
    fakes.gemini.script({ type: "error", status: 400, message: "prompt too long" });
    const job = await task();
    const { state, job: done } = await settled(tf, job.id!);
    expect(state).toBe("failed");
    expect(done.failedReason).toMatch(/invalid request: gemini: HTTP 400/);
    expect(hits()).toEqual({ gemini: 1, openai: 0, anthropic: 0 });
  });
});

describe("waiting for quota", () => {
  it("with every provider out of quota the task waits (delayed, no attempt spent) and runs when quota returns", async () => {
    fakes = await startFakes();
    tf = testFleet("llm");
    const budgets = new Map([["gemini", { window: { ms: 1_500, requests: 1 } }]]);
    await llmWorker(tf, db, { providers: providersFor(fakes).slice(0, 1), budgets });
    // Start at the beginning of a window so the two tasks meet inside one.
    await poll(() => Date.now() % 1_500 < 700, "the start of a quota window", 3_000, 5);
    const a = await task();
    await fakes.gemini.received(1);
    const b = await task();
    await poll(async () => (await Job.fromId(tf.fleet.queue(llmKind), b.id!))?.getState().then((s) => s === "delayed"), "task b to wait for quota", 5_000, 10);
    const [ra, rb] = await Promise.all([settled(tf, a.id!), settled(tf, b.id!)]);
    expect([ra.state, rb.state]).toEqual(["completed", "completed"]);
    expect(rb.job.attemptsStarted).toBeGreaterThanOrEqual(2);
    expect(rb.job.attemptsMade).toBeLessThanOrEqual(1);
    expect(fakes.gemini.requests).toHaveLength(2);
    expect(Math.floor(fakes.gemini.requests[1]!.at / 1_500)).toBeGreaterThan(Math.floor(fakes.gemini.requests[0]!.at / 1_500));
  });

  it("past its deadline a task waiting for quota fails with the reason", async () => {
    fakes = await startFakes();
    tf = testFleet("llm");
    await llmWorker(tf, db, { providers: providersFor(fakes), budgets: new Map(["gemini", "openai", "anthropic"].map((p) => [p, { day: { requests: 0 } }])) });
    const job = await task({ deadline: new Date(Date.now() + 60_000).toISOString() });
    const { state, job: done } = await settled(tf, job.id!);
    expect(state).toBe("failed");
    expect(done.failedReason).toMatch(/^deadline .* passes before any provider has quota: gemini: no quota \(day.*openai: no quota \(day.*anthropic: no quota \(day/);
    expect(hits()).toEqual({ gemini: 0, openai: 0, anthropic: 0 });
  });

  it("without any provider the job fails at once with a message saying how to configure one", async () => {
    fakes = await startFakes();
    tf = testFleet("llm");
    await llmWorker(tf, db, { providers: [] });
    const job = await task();
    const { state, job: done } = await settled(tf, job.id!);
    expect(state).toBe("failed");
    expect(done.failedReason).toBe(NO_PROVIDER_MESSAGE);
    expect(done.attemptsMade).toBe(1);
  });
});

describe("tasks, handoffs and cancellation", () => {
  it("a chain hands off pointer + summary; the next task loads the context and inherits the chain id", async () => {
    await setup();
    const long = `Finding: ${"volatility clusters; ".repeat(60)}`;
    fakes.gemini.script({ type: "ok", text: long }, { type: "ok", text: "Plan based on findings." });
    const job = await task({ chainId: "research-1", then: [{ prompt: "Turn the findings into a plan." }] });
    const a = (await settled(tf, job.id!)).job.returnvalue as LlmResult;
    expect(a.next).toBeDefined();
    const b = await settled(tf, `llm.${a.next!.taskId}`);
    expect(b.state).toBe("completed");
    expect(b.job.data).toMatchObject({ chainId: "research-1", parentTaskId: job.data.taskId, handoffId: a.next!.handoffId });
    expect(b.job.data.summary.length).toBeLessThanOrEqual(500);
    expect(long.startsWith(b.job.data.summary.slice(0, -1))).toBe(true);
    const sent = fakes.gemini.requests[1]!.body as { contents: Array<{ parts: Array<{ text: string }> }> };
    expect(sent.contents[0]!.parts[0]!.text).toContain(long.trim());
    expect(sent.contents[0]!.parts[0]!.text).toMatch(/Turn the findings into a plan\.$/);
    const chain = (await db.pool.query("SELECT task_id, parent_task_id, chain_id, status FROM llm_tasks WHERE chain_id = 'research-1' ORDER BY created_at")).rows;
    expect(chain).toEqual([
      { task_id: job.data.taskId, parent_task_id: null, chain_id: "research-1", status: "completed" },
      { task_id: a.next!.taskId, parent_task_id: job.data.taskId, chain_id: "research-1", status: "completed" },
    ]);
  });

  it("a missing handoff fails the task permanently", async () => {
    await setup();
    const job = await task({ handoffId: `ho_${"0".repeat(32)}` });
    const { state, job: done } = await settled(tf, job.id!);
    expect(state).toBe("failed");
    expect(done.attemptsMade).toBe(1);
    expect(done.failedReason).toMatch(/handoff ho_0+ not found/);
    expect(hits()).toEqual({ gemini: 0, openai: 0, anthropic: 0 });
  });

  it("a re-run of a completed task returns the stored output without calling again", async () => {
    await setup();
    const first = await task();
    await settled(tf, first.id!);
    await (await Job.fromId(tf.fleet.queue(llmKind), first.id!))!.remove();
    const again = await enqueue(tf.fleet, llmKind, first.data);
    const { job } = await settled(tf, again.id!);
    expect((job.returnvalue as LlmResult).text).toBe("answer 1 from gemini");
    expect(hits().gemini).toBe(1);
    expect(await calls(first.data.taskId)).toHaveLength(1);
  });

  it("a streamed task past its timeout keeps the partial output and records the call as cancelled", async () => {
    await setup({ timeoutMs: 3_000 });
    fakes.gemini.script({ type: "stream-hang", chunks: ["Partial ", "answer ", "so far"] });
    const job = await enqueue(tf.fleet, llmKind, { node: "task", taskId: newTaskId(), prompt: "Summarise the day.", stream: true }, { attempts: 1 });
    const { state, job: done } = await settled(tf, job.id!);
    expect(state).toBe("failed");
    expect(done.failedReason).toBe("llm job timed out after 3000 ms (attempt 1)");
    // The ledger is written as the aborted stream unwinds, just after the attempt failed.
    const row = await poll(async () => (await db.pool.query("SELECT status, output FROM llm_tasks WHERE task_id = $1 AND status = 'partial'", [job.data.taskId])).rows[0], "the partial task row");
    expect(row.output).toBe("Partial answer so far");
    expect(await poll(async () => ((await calls(job.data.taskId)).length ? calls(job.data.taskId) : undefined), "the call row")).toMatchObject([{ provider: "gemini", status: "cancelled" }]);
  });
});

describe("secrets", () => {
  it("keys never appear in logs, job data, results, span data, errors or ledger rows", async () => {
    await setup();
    // A provider that echoes the key back in its error, as some do for a wrong key.
    fakes.anthropic.script({ type: "error", status: 401, message: `Incorrect API key provided: ${ALL_KEYS[2]}` });
    const job = await task({ provider: "anthropic" });
    await settled(tf, job.id!);
    fakes.gemini.script({ type: "error", status: 400, message: `bad request for key=${ALL_KEYS[0]}` });
    const failed = await task();
    expect((await settled(tf, failed.id!)).state).toBe("failed");
    const redis = createRedis(redisUrl(), "llm-secrets");
    const dump: string[] = [];
    try {
      for (const key of await redis.keys(`${tf.prefix}:*`)) {
        const type = await redis.type(key);
        if (type === "hash") dump.push(JSON.stringify(await redis.hgetall(key)));
        else if (type === "string") dump.push(String(await redis.get(key)));
        else if (type === "list") dump.push(...(await redis.lrange(key, 0, -1)));
        else if (type === "zset") dump.push(...(await redis.zrange(key, "0", "-1")));
        else if (type === "stream") dump.push(JSON.stringify(await redis.xrange(key, "-", "+")));
      }
    } finally {
      await closeRedis(redis);
    }
    const ledger = (await db.pool.query("SELECT row_to_json(c)::text AS j FROM llm_calls c UNION ALL SELECT row_to_json(t)::text FROM llm_tasks t")).rows.map((r) => r.j as string);
    const spanData = spans.getFinishedSpans().map((sp) => JSON.stringify({ name: sp.name, attributes: sp.attributes, events: sp.events, status: sp.status }));
    const everything = [...tf.log.lines, ...dump, ...ledger, ...spanData].join("\n");
    expect(dump.join("").length).toBeGreaterThan(100);
    expect(spanData.join("")).toContain("llm.provider");
    expect(spanData.join("")).toContain("HTTP 400");
    expect(ledger.join("")).toContain("HTTP 401");
    for (const k of ALL_KEYS) expect(everything).not.toContain(k);
  });
});
