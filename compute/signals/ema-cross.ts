/**
 * EMA crossover: the signal generator (pure) and the strategy type's declaration.
 *
 * Inputs are precomputed fast/slow EMA arrays with NaN warm-up. At bar t (t ≥ 1), with all four of
 * fast[t−1], slow[t−1], fast[t], slow[t] defined (not NaN):
 *   cross-up   : fast[t] > slow[t] and fast[t−1] ≤ slow[t−1] → +1
 *   cross-down : fast[t] < slow[t] and fast[t−1] ≥ slow[t−1] → −1
 * Nothing is emitted merely because fast is already above slow when both become defined: only a cross
 * event produces an action. The generator is stateless (a cross-down while flat is still emitted as −1;
 * the backtest ignores sells while flat).
 */
import { z } from "zod";
import { ema } from "../indicators/ema.ts";
import { int } from "./params.ts";
import { defineStrategy, type FeatureInput } from "./strategy.ts";

export interface EmaCrossEvent {
  index: number;
  type: "cross_up" | "cross_down";
  action: 1 | -1;
  fast: number;
  slow: number;
}

export interface EmaCrossResult {
  actions: Int8Array;
  events: EmaCrossEvent[];
}

function checkLengths(fastEma: ArrayLike<number>, slowEma: ArrayLike<number>, out?: Int8Array): void {
  if (fastEma.length !== slowEma.length) {
    throw new Error(`emaCross: fast/slow EMA lengths differ (${fastEma.length} vs ${slowEma.length})`);
  }
  if (out && out.length !== fastEma.length) {
    throw new Error(`emaCross: output buffer length ${out.length} != ${fastEma.length}`);
  }
}

/**
 * Hot-path variant: writes actions into `out` (allocated when omitted) and returns it. No other
 * allocation. NaN comparisons are false, so any undefined operand yields 0.
 */
export function emaCrossActions(
  fastEma: ArrayLike<number>,
  slowEma: ArrayLike<number>,
  out?: Int8Array,
): Int8Array {
  checkLengths(fastEma, slowEma, out);
  const n = fastEma.length;
  const actions = out ?? new Int8Array(n);
  if (n > 0) actions[0] = 0;
  let pf = n > 0 ? fastEma[0] : Number.NaN;
  let ps = n > 0 ? slowEma[0] : Number.NaN;
  for (let t = 1; t < n; t++) {
    const f = fastEma[t];
    const s = slowEma[t];
    // Every comparison involving NaN is false, so the four-defined requirement is implicit.
    if (f > s && pf <= ps) actions[t] = 1;
    else if (f < s && pf >= ps) actions[t] = -1;
    else actions[t] = 0;
    pf = f;
    ps = s;
  }
  return actions;
}

/** Actions plus one event per cross. */
export function emaCrossSignals(fastEma: ArrayLike<number>, slowEma: ArrayLike<number>): EmaCrossResult {
  const actions = emaCrossActions(fastEma, slowEma);
  const events: EmaCrossEvent[] = [];
  for (let t = 0; t < actions.length; t++) {
    const a = actions[t];
    if (a === 0) continue;
    events.push({
      index: t,
      type: a > 0 ? "cross_up" : "cross_down",
      action: a > 0 ? 1 : -1,
      fast: fastEma[t],
      slow: slowEma[t],
    });
  }
  return { actions, events };
}

const emaInput = (period: number): FeatureInput => ({ column: `ema_${period}`, derive: (f) => ema(f.close, period) });

export const EMA_CROSSOVER = defineStrategy({
  type: "ema_crossover",
  aliases: ["ema_cross"],
  params: z
    .strictObject({ fast: int(2, 500), slow: int(3, 100_000) })
    .superRefine((v, ctx) => {
      if (!(v.slow > v.fast)) ctx.addIssue({ code: "custom", path: ["slow"], message: "must be greater than fast" });
    }),
  // close is hashed too: an EMA the store does not carry is derived from it.
  inputs: (p) => ({ close: { column: "close" }, fast: emaInput(p.fast), slow: emaInput(p.slow) }),
  rule: (_p, x) => ({ actions: emaCrossActions(x.fast, x.slow) }),
});
