// The llm queue's processor: tasks and batch roots.
import type { llmKind } from "../../queues/kinds/llm.ts";
import type { Processor } from "../runtime.ts";
import { runBatch } from "./batch.ts";
import type { LlmDeps } from "./deps.ts";
import { runTask } from "./task.ts";

export function llmProcessor(deps: LlmDeps): Processor<typeof llmKind> {
  return (payload, ctx) => (payload.node === "batch" ? runBatch(payload, ctx, deps) : runTask(payload, ctx, deps));
}
