// Batches as flows (order-preserving fan-in, waves sized by quota), the producer commands, and the cost
// report over the ledger they leave behind.
import { ROOT_CONTEXT } from "@opentelemetry/api";
import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, afterEach, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { parseConfig } from "../../ops/config.ts";
import { enqueue } from "../../queues/enqueue.ts";
import { newTaskId, type LlmBatchResult, type LlmResult } from "../../queues/kinds/llm.ts";
import { llmKind } from "../../queues/registry.ts";
import { PayloadError } from "../../queues/kind.ts";
import { UsageError, type CommandContext } from "../../producers/commands/command.ts";
import { llmBatchCommand } from "../../producers/commands/llm-batch.ts";
import { llmCommand } from "../../producers/commands/llm.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/db.ts";
import { testFleet, type TestFleet } from "../helpers/fleet.ts";
import { llmWorker, providersFor, roomyBudgets, settled, startFakes, type Fakes } from "../fakes/llm-setup.ts";
import type { Recorded } from "../fakes/harness.ts";

let db: TestDatabase;
let fakes: Fakes;
let tf: TestFleet;
const dir = mkdtempSync(join(tmpdir(), "llm-batch-"));
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db.drop();
  rmSync(dir, { recursive: true, force: true });
});
afterEach(async () => {
  await tf?.close();
  await fakes?.close();
});

const promptOf = (r: Recorded) => (r.body as { contents: Array<{ parts: Array<{ text: string }> }> }).contents[0]!.parts[0]!.text;
/** Gemini answers "re: <prompt>"; "slow" prompts take longer, "bad" ones are invalid requests. */
async function setup(budgetRequests: number, database = db, geminiOnly = true) {
  fakes = await startFakes({
    gemini: { answer: (r) => (promptOf(r).includes("bad") ? { type: "error", status: 400, message: "unsupported" } : { type: "ok", text: `re: ${promptOf(r)}`, delayMs: promptOf(r).includes("slow") ? 400 : 5 }) },
  });
  tf = testFleet("llmb");
  const budgets = roomyBudgets();
  budgets.set("gemini", { day: { requests: budgetRequests } });
  await llmWorker(tf, database, { providers: providersFor(fakes).slice(0, geminiOnly ? 1 : 3), budgets, concurrency: 8 });
}
const waves = () => tf.log.records().filter((r) => r.msg === "llm batch wave added").map((r) => r.wave);

describe("batches", () => {
  it("fans results back in task order, whatever order they finish in; a failed task does not fail the batch", async () => {
    await setup(1_000);
    const prompts = ["slow one", "two", "three", "bad four", "five", "slow six", "seven"];
    const tasks = prompts.map((prompt) => ({ taskId: newTaskId(), prompt }));
    const job = await enqueue(tf.fleet, llmKind, { node: "batch", batchId: "order-1", tasks, maxConcurrency: 4 });
    const { state, job: done } = await settled(tf, job.id!, 30_000);
    expect(state).toBe("completed");
    const { results } = done.returnvalue as LlmBatchResult;
    expect(results.map((r) => r.taskId)).toEqual(tasks.map((t) => t.taskId));
    expect(results.map((r) => r.status)).toEqual(["completed", "completed", "completed", "failed", "completed", "completed", "completed"]);
    results.forEach((r, i) => (r.status === "completed" ? expect(r.text).toBe(`re: ${prompts[i]}`) : expect(r.reason).toMatch(/invalid request: gemini: HTTP 400/)));
    // Finishing order differed from task order: the slow first task finished after the next ones.
    const ended = new Map((await db.pool.query("SELECT task_id, updated_at FROM llm_tasks WHERE task_id = ANY($1)", [tasks.map((t) => t.taskId)])).rows.map((r) => [r.task_id, r.updated_at as Date]));
    expect(ended.get(tasks[0]!.taskId)!.getTime()).toBeGreaterThan(ended.get(tasks[1]!.taskId)!.getTime());
    // Roomy quota: waves of the configured maximum.
    expect(waves()).toEqual([4, 3]);
    expect(fakes.gemini.maxInFlight).toBeLessThanOrEqual(4);
  });

  it("sizes waves as min(max, available quota / 2), at least 1", async () => {
    await setup(6);
    const tasks = Array.from({ length: 6 }, (_, i) => ({ taskId: newTaskId(), prompt: `task ${i}` }));
    const job = await enqueue(tf.fleet, llmKind, { node: "batch", batchId: "adaptive-1", tasks, maxConcurrency: 10 });
    const { state, job: done } = await settled(tf, job.id!, 30_000);
    expect(state).toBe("completed");
    // 6 calls available → 3; then 3 → 1; 2 → 1; 1 → at least 1.
    expect(waves()).toEqual([3, 1, 1, 1]);
    expect((done.returnvalue as LlmBatchResult).results.every((r) => r.status === "completed")).toBe(true);
    expect(fakes.gemini.maxInFlight).toBeLessThanOrEqual(3);
  });
});

describe("producer commands and the cost report", () => {
  const cfg = parseConfig({});
  const out = () => {
    const chunks: string[] = [];
    return { stream: { write: (s: string) => (chunks.push(s), true) } as unknown as NodeJS.WriteStream, text: () => chunks.join("") };
  };
  const ctx = (o: ReturnType<typeof out>): CommandContext => ({ cfg, out: o.stream, fleet: async () => tf.fleet, databaseUrl: async () => db.url, trace: async () => ROOT_CONTEXT, signal: new AbortController().signal });

  it("validate flags and task files before touching Redis, naming the field and value", () => {
    expect(() => llmCommand.prepare({}, [], cfg)).toThrow(UsageError);
    expect(() => llmCommand.prepare({ prompt: "x", "max-tokens": "lots" }, [], cfg)).toThrow(/maxOutputTokens.*"lots"|maxOutputTokens/);
    expect(() => llmCommand.prepare({ prompt: "x", deadline: "tomorrow" }, [], cfg)).toThrow(PayloadError);
    const bad = join(dir, "bad.json");
    writeFileSync(bad, JSON.stringify([{ prompt: "ok" }, { prompt: "" }]));
    expect(() => llmBatchCommand.prepare({}, [bad], cfg)).toThrow(/tasks\.1\.prompt.*got ""/);
    writeFileSync(bad, JSON.stringify({ prompt: "not an array" }));
    expect(() => llmBatchCommand.prepare({}, [bad], cfg)).toThrow(/must be a JSON array/);
  });

  it("llm and llm-batch --wait run through the fleet; `npm run cost` reports what they spent", async () => {
    // A database of its own: the report covers exactly this test's calls.
    const own = await createTestDatabase();
    onTestFinished(() => own.drop());
    await setup(1_000, own, false);
    const o1 = out();
    expect(await llmCommand.prepare({ prompt: "hello", wait: true, then: "follow up" }, [], cfg)(ctx(o1))).toBe(0);
    expect(o1.text()).toMatch(/^enqueued LLM task auto_\d{8}_[0-9a-f]{8} \(job llm\.auto_/);
    expect(o1.text()).toContain("re: hello");
    expect(o1.text()).toMatch(/handed off to auto_\d{8}_[0-9a-f]{8}/);
    const file = join(dir, "tasks.json");
    writeFileSync(file, JSON.stringify([{ prompt: "alpha" }, { prompt: "beta", maxOutputTokens: 16 }]));
    const o2 = out();
    expect(await llmBatchCommand.prepare({ wait: true, id: "cli-batch" }, [file], cfg)(ctx(o2))).toBe(0);
    expect(o2.text()).toMatch(/\[0\] auto_\S+ completed gemini: re: alpha\n\[1\] auto_\S+ completed gemini: re: beta\n$/);
    const follow = (await own.pool.query("SELECT count(*)::int AS n FROM llm_tasks WHERE parent_task_id IS NOT NULL")).rows[0].n;
    expect(follow).toBe(1);
    // A paid call too, so the report has a cost to show.
    fakes.openai.script({ type: "ok", usage: { input: 2_000_000, output: 1_000_000 } });
    const paid = await enqueue(tf.fleet, llmKind, { node: "task", taskId: newTaskId("openai"), prompt: "paid", provider: "openai" });
    expect((await settled(tf, paid.id!)).job.returnvalue as LlmResult).toMatchObject({ provider: "openai", costUsd: 0.9 });
    const run = promisify(execFile);
    const report = await run(process.execPath, ["--import", "tsx", resolve(import.meta.dirname, "../../apps/cli/cost.ts"), "--by", "provider"], { env: { ...process.env, DATABASE_URL: own.url, REDIS_URL: "redis://127.0.0.1:1" } });
    const lines = report.stdout.trim().split("\n");
    expect(lines[0]).toMatch(/^LLM calls since \d{4}-\d{2}-\d{2} by provider$/);
    const row = (key: string) => lines.find((l) => l.startsWith(`${key} `))?.trim().split(/\s+/);
    expect(row("gemini")?.slice(1, 4)).toEqual(["4", "4", "0"]);
    expect(row("gemini")?.[6]).toBe("0.000000");
    // gpt-4o-mini: 2M × $0.15 + 1M × $0.60
    expect(row("openai")?.slice(1, 7)).toEqual(["1", "1", "0", "2000000", "1000000", "0.900000"]);
    expect(row("total")?.[6]).toBe("0.900000");
    const byDay = await run(process.execPath, ["--import", "tsx", resolve(import.meta.dirname, "../../apps/cli/cost.ts"), "--by", "day", "--since", "2020-01-01"], { env: { ...process.env, DATABASE_URL: own.url, REDIS_URL: "redis://127.0.0.1:1" } });
    expect(byDay.stdout).toContain(new Date().toISOString().slice(0, 10));
    const bad = await run(process.execPath, ["--import", "tsx", resolve(import.meta.dirname, "../../apps/cli/cost.ts"), "--by", "planet"], { env: { ...process.env, DATABASE_URL: own.url } }).catch((e: { code: number; stderr: string }) => e);
    expect(bad).toMatchObject({ code: 2 });
    expect((bad as { stderr: string }).stderr).toMatch(/--by: must be one of provider, model, day \(got "planet"\)/);
  });
});
