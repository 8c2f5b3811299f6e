// The job hooks the queue benchmark runs the fleet side with.
import { NOOP_HOOKS, type JobHooks } from "../workers/hooks.ts";

export async function benchHooks(): Promise<{ hooks: JobHooks; description: string; close(): Promise<void> }> {
  return { hooks: NOOP_HOOKS, description: "none (tracing and metrics not wired yet)", close: async () => {} };
}
