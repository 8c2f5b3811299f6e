import { defineConfig } from "vitest/config";

// The fault suite runs whole fleets (seven node processes, Redis, PostgreSQL each): one file, one at a time.
export default defineConfig({
  test: {
    include: ["test/faults/**/*.test.ts"],
    setupFiles: ["test/setup/leaks.ts"],
    pool: "forks",
    maxWorkers: 1,
    testTimeout: 300_000,
    hookTimeout: 300_000,
    teardownTimeout: 60_000,
  },
});
