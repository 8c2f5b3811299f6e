// The llm queue's processor: tasks, batch roots and research briefs.
import type { llmKind } from "../../queues/kinds/llm.ts";
import type { Processor } from "../runtime.ts";
import { runBatch } from "./batch.ts";
import { runBrief } from "./brief.ts";
import type { LlmDeps } from "./deps.ts";
import { runTask } from "./task.ts";

export function llmProcessor(deps: LlmDeps): Processor<typeof llmKind> {
  return (payload, ctx) => {
    switch (payload.node) {
      case "batch":
        return runBatch(payload, ctx, deps);
      case "brief":
        return runBrief(payload, ctx, deps);
      case "task":
        return runTask(payload, ctx, deps);
    }
  };
}
