// Tasks run inside compute threads (see pool.ts). Inputs and outputs cross the thread boundary by
// structured clone, so they are plain objects of typed arrays.
import { evaluateEmaPairs, type PairsInput } from "./backtest/sweep.ts";
import type { Ohlc } from "./indicators/indicator.ts";
import { emaStage, featureExtras, returnsStage, taStage, volatilityStage, type Columns, type EmaStageOutput, type StageBars } from "./indicators/stages.ts";

export type StageComputeInput =
  | { stage: "ema"; bars: StageBars; timeframes: string[]; session: "CRYPTO" | "EQUITY" }
  | { stage: "returns"; bars: Ohlc }
  | { stage: "volatility"; bars: Ohlc; periodsPerYear: number }
  | { stage: "ta"; bars: Ohlc }
  | { stage: "features"; cols: Parameters<typeof featureExtras>[0] };

function computeStage(input: Exclude<StageComputeInput, { stage: "ema" }>): Columns {
  switch (input.stage) {
    case "returns":
      return returnsStage(input.bars);
    case "volatility":
      return volatilityStage(input.bars, input.periodsPerYear);
    case "ta":
      return taStage(input.bars);
    case "features":
      return featureExtras(input.cols);
  }
}

const tailOf = (cols: Columns, from: number): Columns => (from === 0 ? cols : Object.fromEntries(Object.entries(cols).map(([k, v]) => [k, v.slice(from)])));

/**
 * A stage's columns over all its bars; with `from`, only their rows from there on come back (a refresh that
 * sends only those need not receive, nor the thread copy, the whole history).
 */
export function stageCompute(input: StageComputeInput & { from?: number }): Columns | EmaStageOutput {
  const from = input.from ?? 0;
  if (input.stage !== "ema") return tailOf(computeStage(input), from);
  const out = emaStage(input.bars, input.timeframes, input.session);
  return { daily: out.daily.map((d) => ({ ...d, cols: tailOf(d.cols, from) })), multiTf: out.multiTf.map((d) => ({ ...d, cols: tailOf(d.cols, from) })) };
}

/** One chunk of an EMA-crossover sweep. */
export function sweepChunk(input: Omit<PairsInput, "emaCache">) {
  return evaluateEmaPairs(input);
}

/** DSR, PSR of the top and PBO of a ranked sweep, from its stored per-combination summaries. */
export { sweepResearch } from "./research/sweep-research.ts";

/** One walk-forward window: the grid on its train range, the chosen combination on its test range. */
export { evaluateWindow as walkForwardWindow } from "./backtest/walk-forward.ts";

/** The full-period best of a walk-forward: the grid on the stitched curve's range, chosen with hindsight. */
export { hindsightBest as walkForwardBest } from "./backtest/walk-forward.ts";
