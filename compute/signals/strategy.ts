// One strategy run over the feature store (pure): the actions of a configured signal type, the feature
// columns it read (in an explicit order, for the feature version hash) and the type's extra outputs.
// Periods the store does not carry (e.g. EMA 13) are computed from closes with the store's conventions.
import { atr } from "../indicators/atr.ts";
import { ema } from "../indicators/ema.ts";
import { rsi } from "../indicators/rsi.ts";
import { atrBreakoutSignals } from "./atr-breakout.ts";
import { emaCrossActions } from "./ema-cross.ts";
import { featureVersionHash } from "./feature-hash.ts";
import type { AtrBreakoutParams, EmaCrossParams, RsiRevertParams, SignalType } from "./params.ts";
import { positionsFromActions, type Position } from "./positions.ts";
import { rsiRevertSignals } from "./rsi-revert.ts";

export type Features = { dates: string[] } & Record<string, Float64Array>;

export interface StrategyRun {
  actions: Int8Array;
  /** Feature columns the strategy read, in hash order. */
  columns: string[];
  values: Record<string, Float64Array>;
  /** ATR breakout only: channel levels per bar. */
  channel?: { high: Float64Array; low: Float64Array; breakoutType: string };
}

const column = (f: Features, name: string, make: () => Float64Array) => f[name] ?? make();

export function runStrategy(type: SignalType, params: EmaCrossParams | RsiRevertParams | AtrBreakoutParams, f: Features): StrategyRun {
  const close = f.close!;
  switch (type) {
    case "ema_crossover": {
      const { fast, slow } = params as EmaCrossParams;
      const [fc, sc] = [`ema_${fast}`, `ema_${slow}`];
      const values = { close, [fc]: column(f, fc, () => ema(close, fast)), [sc]: column(f, sc, () => ema(close, slow)) };
      return { actions: emaCrossActions(values[fc]!, values[sc]!), columns: ["close", fc, sc], values };
    }
    case "rsi_mean_revert": {
      const p = params as RsiRevertParams;
      const rc = `rsi_${p.period}`;
      const values = { close, [rc]: column(f, rc, () => rsi(close, p.period)) };
      return { actions: rsiRevertSignals(values[rc]!, { lower: p.lower, upper: p.upper }).actions, columns: ["close", rc], values };
    }
    case "atr_breakout": {
      const p = params as AtrBreakoutParams;
      const ac = `atr_${p.atr}`;
      const values = { high: f.high!, low: f.low!, close, [ac]: column(f, ac, () => atr(f.high!, f.low!, close, p.atr)) };
      const r = atrBreakoutSignals({ high: f.high!, low: f.low!, close, atr: values[ac]! }, { channel: p.channel, breakout_type: p.breakout_type, atr_mult: p.atr_mult });
      return { actions: r.actions, columns: ["high", "low", "close", ac], values, channel: { high: r.channelHigh, low: r.channelLow, breakoutType: p.breakout_type } };
    }
  }
}

export interface PositionRow extends Position {
  featureVersionHash: string;
  snapshot: Record<string, number | null>;
  channelHigh?: number | null;
  channelLow?: number | null;
}

const finite = (x: number | undefined) => (x === undefined || Number.isNaN(x) ? null : x);

/**
 * Positions with what they were decided on: the hash of the feature columns up to the entry signal (stable
 * when later bars arrive, different when an earlier bar is revised) and the feature values at entry.
 */
export function positionRows(run: StrategyRun, f: Features): PositionRow[] {
  return positionsFromActions(run.actions, f.dates, f.open!).map((p) => {
    const i = p.entrySignalIndex;
    const upTo = Object.fromEntries(run.columns.map((c) => [c, run.values[c]!.subarray(0, i + 1)]));
    return {
      ...p,
      featureVersionHash: featureVersionHash(run.columns, upTo),
      snapshot: Object.fromEntries(run.columns.map((c) => [c, finite(run.values[c]![i])])),
      ...(run.channel ? { channelHigh: finite(run.channel.high[i]), channelLow: finite(run.channel.low[i]) } : {}),
    };
  });
}

/** Hash of every feature column the strategy read over the whole period (identifies a backtest's inputs). */
export const runFeatureHash = (run: StrategyRun) => featureVersionHash(run.columns, run.values);
