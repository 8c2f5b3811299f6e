// Tasks run inside compute threads (see pool.ts). Inputs and outputs cross the thread boundary by
// structured clone, so they are plain objects of typed arrays.
import { evaluateEmaPairs, type PairsInput } from "./backtest/sweep.ts";
import { emaStage, featureExtras, returnsStage, taStage, volatilityStage, type StageBars } from "./indicators/stages.ts";

export type StageComputeInput =
  | { stage: "ema"; bars: StageBars; timeframes: string[]; session: "CRYPTO" | "EQUITY" }
  | { stage: "returns"; bars: StageBars }
  | { stage: "volatility"; bars: StageBars; periodsPerYear: number }
  | { stage: "ta"; bars: StageBars }
  | { stage: "features"; cols: Parameters<typeof featureExtras>[0] };

export function stageCompute(input: StageComputeInput) {
  switch (input.stage) {
    case "ema":
      return emaStage(input.bars, input.timeframes, input.session);
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
