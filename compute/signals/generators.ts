/**
 * Signal generators: pure functions over typed arrays producing a per-bar Int8Array of actions
 * (+1 buy / enter long, −1 sell / exit, 0 nothing) plus event details. This module is the entry point;
 * each generator lives in its own file.
 */
export { emaCrossActions, emaCrossSignals, type EmaCrossEvent, type EmaCrossResult } from "./ema-cross.ts";
export { rsiRevertSignals, type RsiRevertEvent, type RsiRevertOptions, type RsiRevertResult } from "./rsi-revert.ts";
export {
  atrBreakoutSignals,
  donchianPrev,
  trueRange,
  type AtrBreakoutEvent,
  type AtrBreakoutOptions,
  type AtrBreakoutResult,
  type AtrBreakoutSeries,
  type BreakoutType,
} from "./atr-breakout.ts";
export { positionsFromActions, type Position } from "./positions.ts";
export { featureVersionHash, formatFeatureNumber } from "./feature-hash.ts";
export {
  atrBreakoutParams,
  emaCrossParams,
  parseSignalParams,
  rsiRevertParams,
  type AtrBreakoutParams,
  type EmaCrossParams,
  type RsiRevertParams,
  type SignalType,
} from "./params.ts";
