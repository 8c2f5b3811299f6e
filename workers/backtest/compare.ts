// Comparing two backtest runs is only meaningful on the same features: a different feature version hash
// means the inputs changed, so the comparison is refused as stale.
import type { RunHead } from "../../db/repos/backtests.ts";

export class StaleComparisonError extends Error {
  override name = "StaleComparisonError";
}

export function compareRuns(a: RunHead, b: RunHead): Record<string, { a: number; b: number; diff: number }> {
  if (a.feature_version_hash !== b.feature_version_hash) {
    throw new StaleComparisonError(
      `runs ${a.run_id} and ${b.run_id} were computed on different features (${a.feature_version_hash} vs ${b.feature_version_hash}); re-run one of them on current features`,
    );
  }
  const out: Record<string, { a: number; b: number; diff: number }> = {};
  for (const k of Object.keys(a.metrics)) if (k in b.metrics) out[k] = { a: a.metrics[k]!, b: b.metrics[k]!, diff: b.metrics[k]! - a.metrics[k]! };
  return out;
}
