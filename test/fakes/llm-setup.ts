// The three provider fakes, adapters pointed at them, and an in-process llm worker on a test fleet.
import { Job } from "bullmq";
import type { TestDatabase } from "../helpers/db.ts";
import type { TestFleet } from "../helpers/fleet.ts";
import { poll } from "../helpers/wait.ts";
import { llmKind } from "../../queues/registry.ts";
import type { Budget } from "../../queues/quota.ts";
import type { JobHooks } from "../../workers/hooks.ts";
import type { FleetWorker } from "../../workers/runtime.ts";
import { llmDeps, type LlmDeps } from "../../workers/llm/deps.ts";
import { llmProcessor } from "../../workers/llm/processor.ts";
import { anthropicProvider } from "../../workers/llm/providers/anthropic.ts";
import { geminiProvider } from "../../workers/llm/providers/gemini.ts";
import { openAiProvider } from "../../workers/llm/providers/openai.ts";
import type { RetryPolicy } from "../../workers/llm/retry.ts";
import type { ProviderAdapter } from "../../workers/llm/types.ts";
import { startAnthropicFake } from "./anthropic.ts";
import { startGeminiFake } from "./gemini.ts";
import type { FakeOptions, FakeProvider } from "./harness.ts";
import { startOpenAiFake } from "./openai.ts";

export const KEYS = { gemini: "gm-SECRET-4f1c9a77d2", openai: "sk-SECRET-openai-8e21b0c4", anthropic: "sk-ant-SECRET-5d9e3f01" } as const;
export const ALL_KEYS = Object.values(KEYS);

/** Fast backoff so retry cycles take milliseconds; same shape as the production policy. */
export const FAST_RETRY: RetryPolicy = { attempts: 5, baseMs: 20, maxMs: 2_000, jitterMs: 10 };

export interface Fakes {
  gemini: FakeProvider;
  openai: FakeProvider;
  anthropic: FakeProvider;
  close(): Promise<void>;
}

export async function startFakes(o: Partial<Record<keyof typeof KEYS, Omit<FakeOptions, "key">>> = {}): Promise<Fakes> {
  const [gemini, openai, anthropic] = await Promise.all([
    startGeminiFake({ key: KEYS.gemini, ...o.gemini }),
    startOpenAiFake({ key: KEYS.openai, ...o.openai }),
    startAnthropicFake({ key: KEYS.anthropic, ...o.anthropic }),
  ]);
  return { gemini, openai, anthropic, close: async () => void (await Promise.all([gemini.close(), openai.close(), anthropic.close()])) };
}

/** gemini (free), openai (paid), anthropic (paid) — the default tiers. */
export function providersFor(f: Pick<Fakes, "gemini" | "openai" | "anthropic">, timeoutMs = 5_000): ProviderAdapter[] {
  return [
    geminiProvider({ apiKey: KEYS.gemini, baseUrl: f.gemini.url, model: "gemini-2.5-flash", tier: "free", timeoutMs }),
    openAiProvider({ apiKey: KEYS.openai, baseUrl: `${f.openai.url}/v1`, model: "gpt-4o-mini", tier: "paid", timeoutMs }),
    anthropicProvider({ apiKey: KEYS.anthropic, baseUrl: f.anthropic.url, model: "claude-haiku-4-5", tier: "paid", timeoutMs }),
  ];
}

/** Plenty of quota, and no per-minute window whose closing moments could hold a call back. */
export const roomyBudgets = (): Map<string, Budget> =>
  new Map(["gemini", "openai", "anthropic", "offline"].map((p) => [p, { day: { requests: 100_000 }, maxConcurrent: 50 }]));

export async function llmWorker(
  tf: TestFleet,
  db: TestDatabase,
  o: { providers: readonly ProviderAdapter[]; budgets?: Map<string, Budget>; retry?: RetryPolicy; hooks?: JobHooks; concurrency?: number; timeoutMs?: number },
): Promise<{ deps: LlmDeps; worker: FleetWorker<typeof llmKind> }> {
  const deps = llmDeps({ pool: db.pool, fleet: tf.fleet, log: tf.log.log }, { providers: o.providers, budgets: o.budgets ?? roomyBudgets(), retry: o.retry ?? FAST_RETRY });
  // A shorter attempt bound (for timeout tests) is the same kind with one field changed.
  const kind: typeof llmKind = o.timeoutMs === undefined ? llmKind : { ...llmKind, timeoutMs: o.timeoutMs };
  const worker = await tf.worker(kind, llmProcessor(deps), { concurrency: o.concurrency ?? 4, ...(o.hooks ? { hooks: o.hooks } : {}) });
  return { deps, worker };
}

/** Waits until the job is completed or failed and returns it with its state. */
export async function settled(tf: TestFleet, jobId: string, timeoutMs = 20_000): Promise<{ state: string; job: Job }> {
  const q = tf.fleet.queue(llmKind);
  return poll(
    async () => {
      // State first, then the job: a job read before it finished would carry no return value.
      const state = await q.getJobState(jobId);
      const job = state === "completed" || state === "failed" ? await Job.fromId(q, jobId) : undefined;
      return job ? { state, job } : undefined;
    },
    `job ${jobId} to finish`,
    timeoutMs,
  );
}
