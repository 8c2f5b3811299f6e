// Signal jobs: run a configured strategy over the feature store and upsert its positions (OPEN/CLOSED)
// into the type's table. Positions before the dirty window are unchanged and not rewritten; an open
// position carries over and is closed in place when its exit arrives.
import { getWatermark, setWatermark } from "../../db/repos/feature-state.ts";
import { upsertPositions } from "../../db/repos/signals.ts";
import type { SignalResult } from "../../queues/kinds/signal.ts";
import type { signalKind } from "../../queues/registry.ts";
import type { WorkerDeps } from "../deps.ts";
import type { Processor } from "../runtime.ts";
import { windowStart } from "../stage/window.ts";
import { loadStrategyInputs } from "./load.ts";
import { positionRows, runFeatureDigest, runFeatureHash } from "../../compute/signals/strategy.ts";

/** Bars before the watermark whose positions are re-checked (a revised bar moves at most this far). */
const LOOKBACK_BARS = 30;

export function signalProcessor(deps: WorkerDeps): Processor<typeof signalKind> {
  return async (p): Promise<SignalResult> => {
    const { strategy, asset, features } = await loadStrategyInputs(deps.pool, p.signalId, p.asset, p.asOf);
    const base = { signalId: p.signalId, asset: p.asset, signalType: strategy.type };
    if (!features.dates.length) return { ...base, rowsWritten: 0, featureVersionHash: "", openPositions: 0 };
    const run = strategy.run(features);
    const stage = `signal:${p.signalId}`;
    const watermark = await getWatermark(deps.pool, asset.asset_id, stage);
    const from = features.dates[windowStart(features.dates, watermark, LOOKBACK_BARS, false)] ?? "";
    const positions = positionRows(run, features, (x) => x.status === "OPEN" || (x.exitDate ?? "") >= from);
    const rowsWritten = await upsertPositions(deps.pool, strategy.type, asset.asset_id, p.signalId, positions);
    await setWatermark(deps.pool, asset.asset_id, stage, features.dates.at(-1)!, rowsWritten);
    return { ...base, rowsWritten, featureVersionHash: runFeatureHash(run), featureDigest: runFeatureDigest(run), openPositions: positions.filter((x) => x.status === "OPEN").length };
  };
}
