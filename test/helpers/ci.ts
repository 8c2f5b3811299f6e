// External tools some tests need (promtool, Chromium). A developer's machine without one skips those tests;
// in CI — CI set to any non-empty value, as every CI service does ("true", "1", "yes", …) — a missing tool
// is a failure of the test file, never a silent skip.

/** True when this run is CI: the CI variable is set and not empty. */
export const inCi = (env: NodeJS.ProcessEnv = process.env): boolean => (env.CI ?? "") !== "";

/**
 * Whether the tests needing `tool` should be skipped: only when it is missing outside CI. In CI a missing
 * tool throws, which fails the file that asked (at collection, before any test runs).
 */
export function requireInCi(tool: string, present: boolean, env: NodeJS.ProcessEnv = process.env): boolean {
  if (present) return false;
  if (inCi(env)) throw new Error(`${tool} is required when CI is set (CI=${JSON.stringify(env.CI)}) but was not found; install it, or unset CI to skip these tests locally`);
  return true;
}
