/**
 * RSI mean reversion: the signal generator (pure, stateful) and the strategy type's declaration.
 *
 * Given a precomputed RSI array (NaN warm-up), simulate the long-only position the backtest will hold:
 *   flat and RSI[t] < lower → +1 (buy; long from here on)
 *   long and RSI[t] > upper → −1 (sell; flat from here on)
 * Only actionable signals are emitted (no buy while long, no sell while flat). Bars with NaN RSI emit 0.
 * The strict inequalities mean RSI exactly at `lower` / `upper` does not trigger. Because each signal
 * fills at the next open in the backtest, the simulated state matches the engine's position (a signal
 * on the last bar is emitted but never filled).
 */
import { z } from "zod";
import { rsi } from "../indicators/rsi.ts";
import { int } from "./params.ts";
import { defineStrategy } from "./strategy.ts";

export interface RsiRevertOptions {
  lower: number;
  upper: number;
}

export interface RsiRevertEvent {
  index: number;
  type: "oversold_buy" | "overbought_sell";
  action: 1 | -1;
  rsi: number;
}

export interface RsiRevertResult {
  actions: Int8Array;
  events: RsiRevertEvent[];
  /** Position held after processing bar t's signal (1 long, 0 flat), as simulated by the generator. */
  state: Int8Array;
}

export function rsiRevertSignals(rsiValues: ArrayLike<number>, opts: RsiRevertOptions): RsiRevertResult {
  const { lower, upper } = opts;
  if (!(lower > 0 && lower < upper && upper < 100)) {
    throw new Error(`rsiRevert: need 0 < lower < upper < 100 (got lower=${lower}, upper=${upper})`);
  }
  const n = rsiValues.length;
  const actions = new Int8Array(n);
  const state = new Int8Array(n);
  const events: RsiRevertEvent[] = [];
  let long = false;
  for (let t = 0; t < n; t++) {
    const v = rsiValues[t];
    if (!long && v < lower) {
      actions[t] = 1;
      long = true;
      events.push({ index: t, type: "oversold_buy", action: 1, rsi: v });
    } else if (long && v > upper) {
      actions[t] = -1;
      long = false;
      events.push({ index: t, type: "overbought_sell", action: -1, rsi: v });
    }
    state[t] = long ? 1 : 0;
  }
  return { actions, events, state };
}

const openPct = () => {
  const msg = "must be a number strictly between 0 and 100";
  return z.number({ error: msg }).gt(0, { error: msg }).lt(100, { error: msg });
};

export const RSI_MEAN_REVERT = defineStrategy({
  type: "rsi_mean_revert",
  aliases: ["rsi_revert"],
  params: z
    .strictObject({ period: int(2, 10_000).default(14), lower: openPct().default(30), upper: openPct().default(70) })
    .superRefine((v, ctx) => {
      if (!(v.lower < v.upper)) ctx.addIssue({ code: "custom", path: ["upper"], message: "must be greater than lower" });
    }),
  inputs: (p) => ({ close: { column: "close" }, rsi: { column: `rsi_${p.period}`, derive: (f) => rsi(f.close, p.period) } }),
  rule: (p, x) => rsiRevertSignals(x.rsi, p),
});
