import { resolve } from "node:path";
import { createComputePool, type ComputePool } from "./pool.ts";

/** The fleet's compute pool over compute/tasks.ts. */
export function createFleetComputePool(threads?: number): ComputePool {
  return createComputePool({ taskModule: resolve(import.meta.dirname, "../../compute/tasks.ts"), ...(threads ? { threads } : {}) });
}
