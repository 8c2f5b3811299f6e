// Loads what a strategy job needs: its configuration (looked up by type and validated), the asset and the
// feature-store columns the strategy reads (shared with the asset's other strategy jobs: read-only).
import { findAsset, type Asset } from "../../db/repos/assets.ts";
import { cachedSignalFeatures, getSignal, type SignalConfig } from "../../db/repos/signals.ts";
import type { Pool } from "../../db/pool.ts";
import { PermanentError } from "../errors.ts";
import { configureStrategy, type SignalType } from "../../compute/signals/catalog.ts";
import type { ConfiguredStrategy, Features } from "../../compute/signals/strategy.ts";

export interface StrategyInputs {
  config: SignalConfig;
  strategy: ConfiguredStrategy<SignalType>;
  asset: Asset;
  features: Features;
}

export async function loadStrategyInputs(pool: Pool, signalId: number, symbol: string, asOf: string): Promise<StrategyInputs> {
  const config = await getSignal(pool, signalId);
  if (!config) throw new PermanentError(`signal ${signalId} does not exist in dim_signals`);
  let strategy: StrategyInputs["strategy"];
  try {
    strategy = configureStrategy(config.signal_type, config.params);
  } catch (err) {
    throw new PermanentError(`dim_signals ${signalId} (${config.signal_name}): ${(err as Error).message}`, { cause: err });
  }
  const asset = await findAsset(pool, symbol);
  if (!asset) throw new PermanentError(`unknown asset ${symbol}`);
  return { config, strategy, asset, features: await cachedSignalFeatures(pool, asset, asOf, strategy.columns) };
}
