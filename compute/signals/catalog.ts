// The strategy types. A new type is its declaration (strategy.ts) plus one line here; its migration adds the
// dim_signal_types row, the signals_<type> table and its first dim_signals configurations.
import { ATR_BREAKOUT } from "./atr-breakout.ts";
import { EMA_CROSSOVER } from "./ema-cross.ts";
import { RSI_MEAN_REVERT } from "./rsi-revert.ts";
import type { ConfiguredStrategy, Strategy } from "./strategy.ts";

export const STRATEGIES = Object.freeze([EMA_CROSSOVER, RSI_MEAN_REVERT, ATR_BREAKOUT] as const);

export type SignalType = (typeof STRATEGIES)[number]["type"];

const BY_NAME = new Map<string, Strategy<SignalType>>(STRATEGIES.flatMap((s) => [s.type, ...s.aliases].map((name) => [name, s] as const)));

/** The strategy a dim_signals.signal_type names; an unknown name throws, naming it and the known ones. */
export function strategyOf(type: string): Strategy<SignalType> {
  const s = BY_NAME.get(type);
  if (!s) throw new Error(`type: unknown signal type (got ${JSON.stringify(type)}); expected one of ${[...BY_NAME.keys()].join(", ")}`);
  return s;
}

/** A dim_signals row's type and params as a runnable strategy; throws naming the unknown type or each bad field. */
export const configureStrategy = (type: string, params: unknown): ConfiguredStrategy<SignalType> => strategyOf(type).configure(params);
