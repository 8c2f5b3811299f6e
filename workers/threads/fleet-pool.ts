import { resolve } from "node:path";
import { createComputePool, type ComputePool } from "./pool.ts";

/** The fleet's compute pool over workers/threads/tasks.ts. */
export function createFleetComputePool(threads?: number): ComputePool {
  return createComputePool({ taskModule: resolve(import.meta.dirname, "tasks.ts"), ...(threads ? { threads } : {}) });
}
