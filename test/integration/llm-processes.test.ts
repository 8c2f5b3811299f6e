// Real worker processes: four of them hammering one provider never exceed its budget (as the provider
// itself counts), and a process killed with SIGKILL mid-call leaves a cost recorded exactly once.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { enqueue } from "../../queues/enqueue.ts";
import { llmKind } from "../../queues/registry.ts";
import { newTaskId } from "../../queues/kinds/llm.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/db.ts";
import { testFleet, type TestFleet } from "../helpers/fleet.ts";
import { reap, spawnTs, type EventProcess } from "../helpers/proc.ts";
import { redisUrl } from "../helpers/redis.ts";
import { poll } from "../helpers/wait.ts";
import type { FakeProvider } from "../fakes/harness.ts";
import { startOpenAiFake } from "../fakes/openai.ts";
import { KEYS, settled } from "../fakes/llm-setup.ts";

// Each test: its own database, queue prefix and provider fake.
let db: TestDatabase;
let tf: TestFleet;
let fake: FakeProvider | undefined;
const procs: EventProcess[] = [];
beforeEach(async () => {
  db = await createTestDatabase();
});
afterEach(async () => {
  await reap(procs.splice(0));
  await tf?.close();
  await fake?.close();
  fake = undefined;
  await db.drop();
});

const worker = (env: Record<string, string>) => {
  const p = spawnTs("test/fixtures/llm-worker.ts", {
    REDIS_URL: redisUrl(),
    DATABASE_URL: db.url,
    PREFIX: tf.prefix,
    PROVIDER: "openai",
    BASE_URL: fake!.url,
    API_KEY: KEYS.openai,
    RETRY: JSON.stringify({ attempts: 5, baseMs: 20, maxMs: 2_000, jitterMs: 10 }),
    ...env,
  });
  procs.push(p);
  return p;
};

describe("llm workers as processes", () => {
  it("4 processes hammering one provider never exceed its per-window and in-flight budget", async () => {
    const windowMs = 2_000;
    const perWindow = 15;
    const inFlight = 4;
    fake = await startOpenAiFake({ key: KEYS.openai, latencyMs: 30 });
    tf = testFleet("llm4");
    const budget = { window: { ms: windowMs, requests: perWindow }, maxConcurrent: inFlight };
    for (let i = 0; i < 4; i++) worker({ CONCURRENCY: "8", BUDGET: JSON.stringify(budget) });
    await Promise.all(procs.map((p) => p.waitFor("ready")));
    const run = (n: number) => Promise.all(Array.from({ length: n }, () => enqueue(tf.fleet, llmKind, { node: "task", taskId: newTaskId(), prompt: "hammer" })));
    // Warm-up until every process has made a call: a cold process can stall between its quota check and the
    // wire for longer than any guard band. The provider starts counting afterwards.
    await poll(async () => {
      for (const j of await run(4)) await settled(tf, j.id!, 30_000);
      return procs.every((p) => p.events.some((e) => e.event === "sent"));
    }, "every process to make a call", 60_000);
    const warm = new Set(procs.flatMap((p) => p.events.filter((e) => e.event === "sent")));
    fake.setLimit({ windowMs, requests: perWindow });
    const total = 60;
    const jobs = await run(total);
    for (const j of jobs) expect((await settled(tf, j.id!, 30_000)).state).toBe("completed");
    // Our side: sends per budget window, by the sending process's clock.
    const sends = procs.flatMap((p) => p.events.filter((e) => e.event === "sent" && !warm.has(e)));
    expect(sends).toHaveLength(total);
    const perSendWindow = new Map<number, number>();
    for (const e of sends) perSendWindow.set(Math.floor(Number(e.at) / windowMs), (perSendWindow.get(Math.floor(Number(e.at) / windowMs)) ?? 0) + 1);
    expect(Math.max(...perSendWindow.values())).toBeLessThanOrEqual(perWindow);
    // The provider's side: nothing over its limit arrived, never more than the in-flight budget at once.
    expect(fake.violations).toEqual([]);
    expect(fake.overruns).toBe(0);
    expect(Math.max(...fake.acceptedPerWindow.values())).toBeLessThanOrEqual(perWindow);
    expect(fake.maxInFlight).toBeLessThanOrEqual(inFlight);
    // The budget was used, not left idle: the full windows between the first and the last are full.
    const counts = [...fake.acceptedPerWindow.entries()].sort(([a], [b]) => a - b).map(([, n]) => n);
    expect(counts.slice(1, -1).every((n) => n === perWindow)).toBe(true);
    expect(procs.filter((p) => sends.some((e) => e.pid === p.pid)).length).toBeGreaterThanOrEqual(2);
  });

  it("kill -9 during a call: the retried job records the cost once; the lost call is marked interrupted", async () => {
    fake = await startOpenAiFake({ key: KEYS.openai });
    tf = testFleet("llmkill");
    const fast = { LOCK_MS: "1500", STALLED_MS: "500", BUDGET: JSON.stringify({ window: { ms: 60_000, requests: 100 } }) };
    const a = worker(fast);
    await a.waitFor("ready");
    fake.script({ type: "hang" }, { type: "ok", text: "second try", usage: { input: 1_000, output: 500 } });
    const job = await enqueue(tf.fleet, llmKind, { node: "task", taskId: newTaskId("openai"), prompt: "expensive question" });
    await fake.received(1);
    await poll(async () => (await db.pool.query("SELECT 1 FROM llm_calls WHERE task_id = $1 AND status = 'pending'", [job.data.taskId])).rowCount, "the pending ledger row");
    a.kill("SIGKILL");
    await a.exited;
    const b = worker(fast);
    const { state } = await settled(tf, job.id!, 30_000);
    expect(state).toBe("completed");
    expect(b.events.some((e) => e.event === "ended" && e.outcome === "completed")).toBe(true);
    expect(fake.requests).toHaveLength(2);
    const rows = (await db.pool.query("SELECT status, input_tokens, output_tokens, cost_usd::float8 AS cost FROM llm_calls WHERE task_id = $1 ORDER BY call_id", [job.data.taskId])).rows;
    // gpt-4o-mini: 1000 × $0.15/M + 500 × $0.60/M
    expect(rows).toEqual([
      { status: "interrupted", input_tokens: 0, output_tokens: 0, cost: 0 },
      { status: "ok", input_tokens: 1_000, output_tokens: 500, cost: 0.00045 },
    ]);
    const total = (await db.pool.query("SELECT sum(cost_usd)::float8 AS c FROM llm_calls WHERE task_id = $1", [job.data.taskId])).rows[0].c;
    expect(total).toBeCloseTo(0.00045, 10);
  });
});
