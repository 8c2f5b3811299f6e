/**
 * ATR / Donchian breakout: the signal generator (pure, stateful, long-only) and the strategy type's
 * declaration, whose table also keeps the breakout type and the channel levels at entry.
 *
 * Inputs: high, low, close and a precomputed ATR array (NaN warm-up; its period is the `atr` param,
 * applied upstream). Definitions at bar t:
 *   channelHigh[t] = max(high[t−channel .. t−1]), channelLow[t] = min(low[t−channel .. t−1])
 *                    (previous `channel` bars, bar t excluded; NaN for t < channel)
 *   TR[t]          = true range of compute/indicators/atr.ts (TR[0] = NaN: no previous close)
 *   channel_break  : close[t] > channelHigh[t]
 *   atr_expansion  : TR[t] > atr_mult · ATR[t−1]   (needs t ≥ 1 and ATR[t−1] defined; direction-agnostic)
 *   both           : channel_break AND atr_expansion
 *   exit           : close[t] < channelLow[t]
 * State machine: flat and entry condition → +1; long and exit condition → −1; otherwise 0. Only
 * actionable signals are emitted. NaN operands make a condition false.
 */
import { z } from "zod";
import { atr as averageTrueRange, trueRange } from "../indicators/atr.ts";
import { int } from "./params.ts";
import { defineStrategy } from "./strategy.ts";

export const BREAKOUT_TYPES = ["channel_break", "atr_expansion", "both"] as const;
export type BreakoutType = (typeof BREAKOUT_TYPES)[number];

export interface AtrBreakoutSeries {
  high: ArrayLike<number>;
  low: ArrayLike<number>;
  close: ArrayLike<number>;
  atr: ArrayLike<number>;
}

export interface AtrBreakoutOptions {
  channel: number;
  breakout_type: BreakoutType;
  atr_mult: number;
}

export interface AtrBreakoutEvent {
  index: number;
  type: "breakout_entry" | "channel_exit";
  action: 1 | -1;
  close: number;
  channelHigh: number;
  channelLow: number;
  trueRange: number;
  /** ATR[t − 1] (NaN at t = 0). */
  prevAtr: number;
}

export interface AtrBreakoutResult {
  actions: Int8Array;
  events: AtrBreakoutEvent[];
  channelHigh: Float64Array;
  channelLow: Float64Array;
  trueRange: Float64Array;
  /** Position after bar t's signal (1 long, 0 flat). */
  state: Int8Array;
}

/** Donchian levels over the previous `channel` bars (bar t excluded). */
export function donchianPrev(
  high: ArrayLike<number>,
  low: ArrayLike<number>,
  channel: number,
): { channelHigh: Float64Array; channelLow: Float64Array } {
  const n = high.length;
  const channelHigh = new Float64Array(n).fill(Number.NaN);
  const channelLow = new Float64Array(n).fill(Number.NaN);
  for (let t = channel; t < n; t++) {
    let hi = -Infinity;
    let lo = Infinity;
    for (let j = t - channel; j < t; j++) {
      if (high[j] > hi) hi = high[j];
      if (low[j] < lo) lo = low[j];
    }
    channelHigh[t] = hi;
    channelLow[t] = lo;
  }
  return { channelHigh, channelLow };
}

export function atrBreakoutSignals(series: AtrBreakoutSeries, opts: AtrBreakoutOptions): AtrBreakoutResult {
  const { high, low, close, atr } = series;
  const { channel, breakout_type: type, atr_mult: mult } = opts;
  const n = close.length;
  if (high.length !== n || low.length !== n || atr.length !== n) {
    throw new Error(`atrBreakout: high/low/close/atr lengths differ (${high.length}/${low.length}/${n}/${atr.length})`);
  }
  if (!Number.isInteger(channel) || channel < 1) {
    throw new Error(`atrBreakout: channel must be a positive integer (got ${String(channel)})`);
  }
  if (!(mult > 0) || !Number.isFinite(mult)) {
    throw new Error(`atrBreakout: atr_mult must be > 0 (got ${String(mult)})`);
  }
  if (!BREAKOUT_TYPES.includes(type)) {
    throw new Error(`atrBreakout: unknown breakout_type (got ${String(type)})`);
  }
  const { channelHigh, channelLow } = donchianPrev(high, low, channel);
  const tr = trueRange(high, low, close);
  const actions = new Int8Array(n);
  const state = new Int8Array(n);
  const events: AtrBreakoutEvent[] = [];
  const wantBreak = type !== "atr_expansion";
  const wantExpansion = type !== "channel_break";
  let long = false;
  for (let t = 0; t < n; t++) {
    const c = close[t];
    const prevAtr = t > 0 ? atr[t - 1] : Number.NaN;
    if (!long) {
      const brk = c > channelHigh[t];
      const exp = tr[t] > mult * prevAtr;
      if ((!wantBreak || brk) && (!wantExpansion || exp)) {
        actions[t] = 1;
        long = true;
        events.push(event(t, "breakout_entry", 1));
      }
    } else if (c < channelLow[t]) {
      actions[t] = -1;
      long = false;
      events.push(event(t, "channel_exit", -1));
    }
    state[t] = long ? 1 : 0;
  }
  return { actions, events, channelHigh, channelLow, trueRange: tr, state };

  function event(t: number, kind: AtrBreakoutEvent["type"], action: 1 | -1): AtrBreakoutEvent {
    return {
      index: t,
      type: kind,
      action,
      close: close[t],
      channelHigh: channelHigh[t],
      channelLow: channelLow[t],
      trueRange: tr[t],
      prevAtr: t > 0 ? atr[t - 1] : Number.NaN,
    };
  }
}

export const ATR_BREAKOUT = defineStrategy({
  type: "atr_breakout",
  params: z.strictObject({
    channel: int(1, 100_000).default(20),
    atr: int(1, 100_000).default(14),
    breakout_type: z.enum(BREAKOUT_TYPES, { error: `must be one of ${BREAKOUT_TYPES.join(", ")}` }).default("channel_break"),
    atr_mult: z.number({ error: "must be a finite number > 0" }).gt(0, { error: "must be a finite number > 0" }).default(1.5),
  }),
  inputs: (p) => ({
    high: { column: "high" },
    low: { column: "low" },
    close: { column: "close" },
    atr: { column: `atr_${p.atr}`, derive: (f) => averageTrueRange(f.high, f.low, f.close, p.atr) },
  }),
  rule: (p, x) => atrBreakoutSignals(x, p),
  tableColumns: {
    breakout_type: { type: "text", at: (p) => p.breakout_type },
    channel_high: { type: "float8", at: (_p, r, i) => r.channelHigh[i] },
    channel_low: { type: "float8", at: (_p, r, i) => r.channelLow[i] },
  },
});
