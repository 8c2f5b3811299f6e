// The flags that `sweep` and `walk-forward` share, parsed the same way: an EMA-crossover grid (--fast,
// --slow, --step, capped by SWEEP_MAX_COMBINATIONS), the fee and bounded integers. Errors name the flag
// and the value.
import type { Config } from "../../ops/config.ts";
import { emaGridSize, parseRange, type IntRange } from "../../compute/backtest/sweep-grid.ts";
import { UsageError, type Values } from "./command.ts";

/** The options every grid command parses with the functions below. */
export const GRID_OPTIONS = {
  strategy: { type: "string" },
  asset: { type: "string" },
  fast: { type: "string" },
  slow: { type: "string" },
  step: { type: "string" },
  "fee-bps": { type: "string" },
} as const;

export const intFlag = (flag: string, v: unknown, lo: number, hi: number, fallback: number) => {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < lo || n > hi) throw new UsageError(`${flag}: must be an integer ${lo}..${hi} (got ${JSON.stringify(v)})`);
  return n;
};

export function strategyFlag(v: unknown): "ema_cross" {
  if (v !== "ema_cross") throw new UsageError(`--strategy: must be ema_cross (got ${JSON.stringify(v)})`);
  return v;
}

/** --fast and --slow (ranges without a step take --step), refused when empty or over SWEEP_MAX_COMBINATIONS. */
export function gridFlags(values: Values, cfg: Pick<Config, "SWEEP_MAX_COMBINATIONS">): { fast: IntRange; slow: IntRange; combos: number } {
  const step = intFlag("--step", values.step, 1, 10_000, 1);
  const range = (flag: string, v: unknown): IntRange => {
    if (typeof v !== "string") throw new UsageError(`${flag}: required, LO..HI[:STEP] (got ${JSON.stringify(v)})`);
    try {
      const r = parseRange(v, flag);
      return v.includes(":") ? r : [r[0], r[1], step];
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
  };
  const fast = range("--fast", values.fast);
  const slow = range("--slow", values.slow);
  let combos: number;
  try {
    combos = emaGridSize(fast, slow);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (combos > cfg.SWEEP_MAX_COMBINATIONS) {
    throw new UsageError(`--fast/--slow: ${combos} fast < slow combinations, over SWEEP_MAX_COMBINATIONS (${cfg.SWEEP_MAX_COMBINATIONS}); narrow the ranges or use a larger step`);
  }
  return { fast, slow, combos };
}

export function feeBpsFlag(v: unknown): number {
  const feeBps = v === undefined ? 10 : Number(v);
  if (!(feeBps >= 0 && feeBps <= 1000)) throw new UsageError(`--fee-bps: must be 0..1000 (got ${JSON.stringify(v)})`);
  return feeBps;
}
