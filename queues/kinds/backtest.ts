import { z } from "zod";
import { BASE_JOB_OPTIONS, defineKind, isoDate, rerunSuffix, runAttribute, runId, symbol, type SpanAttributes } from "../kind.ts";

export interface BacktestResult {
  mode: "signal" | "sweep-chunk" | "sweep-rank" | "wf-window" | "wf-root";
  runIds?: number[];
  evaluated?: number;
  best?: Array<{ fast: number; slow: number; sharpe: number; totalReturn: number; psr: number | null }>;
  /** sweep-rank: the sweep's research statistics, or why they were skipped. */
  research?: SweepResearchSummary;
  [key: string]: unknown;
}

/** Skipped entirely, or the DSR with the PBO or why the PBO alone was skipped (compute/research/sweep-research.ts). */
export type SweepResearchSummary =
  | { skipped: string; s: number }
  | ({ skipped: null; s: number; n: number; t: number; dsr: number; best: { fast: number; slow: number } } & (
      | { pbo: number; splits: number; pboSkipped: null }
      | { pbo: null; splits: null; pboSkipped: string }
    ));

// A sweep's or walk-forward's id: part of its jobs' ids.
const flowId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, "must be 1-64 letters, digits, _ -");
const feeBps = z.number().min(0).max(1000);
// S, the PBO blocks: C(S, S/2) splits of S/2 blocks each need S even; 24 gives 2.7 million splits.
const pboBlocks = z
  .number()
  .int("must be an even integer 4..24")
  .min(4, "must be an even integer 4..24")
  .max(24, "must be an even integer 4..24")
  .refine((s) => s % 2 === 0, "must be an even integer 4..24");
/** An inclusive integer range [lo, hi, step], as compute/backtest/sweep-grid.ts takes it. */
export const intRange = z.tuple([z.number().int().min(1), z.number().int().min(1), z.number().int().min(1)]);
/** Walk-forward windows in bars: a train range of one bar would have no return to rank by. */
export const windowBars = z.number().int().min(2).max(100_000);

const schema = z.discriminatedUnion("mode", [
  z.strictObject({
    mode: z.literal("signal"),
    signalId: z.number().int().positive(),
    asset: symbol,
    asOf: isoDate,
    runId: runId.optional(),
    rerun: z.number().int().min(1).max(999).optional(),
    feeBps: feeBps.optional(),
  }),
  z.strictObject({
    mode: z.literal("sweep-chunk"),
    sweepId: flowId,
    chunk: z.number().int().min(0),
    asset: symbol,
    strategy: z.literal("ema_cross"),
    combos: z.array(z.tuple([z.number().int().min(1), z.number().int().min(2)])).min(1).max(5_000),
    feeBps,
    s: pboBlocks.optional(),
  }),
  z.strictObject({
    mode: z.literal("sweep-rank"),
    sweepId: flowId,
    asset: symbol,
    strategy: z.literal("ema_cross"),
    topN: z.number().int().min(1).max(1_000),
    grid: z.strictObject({ fast: intRange, slow: intRange }),
    feeBps,
    s: pboBlocks.optional(),
  }),
  // One walk-forward window k: its test range starts at train + k·test; testEnd (the last window's is cut
  // short by the series' end) is fixed when the flow is planned.
  z.strictObject({
    mode: z.literal("wf-window"),
    walkForwardId: flowId,
    k: z.number().int().min(0),
    asset: symbol,
    strategy: z.literal("ema_cross"),
    grid: z.strictObject({ fast: intRange, slow: intRange }),
    train: windowBars,
    test: windowBars,
    testEnd: z.number().int().min(3),
    feeBps,
  }),
  z.strictObject({
    mode: z.literal("wf-root"),
    walkForwardId: flowId,
    asset: symbol,
    strategy: z.literal("ema_cross"),
    grid: z.strictObject({ fast: intRange, slow: intRange }),
    train: windowBars,
    test: windowBars,
    feeBps,
    windows: z.number().int().min(1),
  }),
]);

export const backtestKind = defineKind<"backtest", typeof schema, BacktestResult>({
  name: "backtest",
  schema,
  jobName: (p) => p.mode,
  jobId: (p) => {
    switch (p.mode) {
      case "signal":
        return `backtest.${p.signalId}.${p.asset}.${p.asOf}${rerunSuffix(p.rerun)}`;
      case "sweep-chunk":
        return `sweep.${p.sweepId}.chunk${p.chunk}`;
      case "sweep-rank":
        return `sweep.${p.sweepId}.rank`;
      case "wf-window":
        return `wf.${p.walkForwardId}.window${p.k}`;
      case "wf-root":
        return `wf.${p.walkForwardId}.root`;
    }
  },
  jobOptions: { ...BASE_JOB_OPTIONS },
  timeoutMs: 10 * 60_000,
  // Walk-forward jobs are few (one per window) and all traced: the default sample of 1.
  tracing: { sample: { "sweep-chunk": 0.1 }, slowMs: 2 * 60_000 },
  spanAttributes: (p): SpanAttributes => {
    switch (p.mode) {
      case "signal":
        return { asset: p.asset, "backtest.mode": p.mode, "signal.id": p.signalId, ...runAttribute(p) };
      case "sweep-chunk":
      case "sweep-rank":
        return { asset: p.asset, "backtest.mode": p.mode, strategy: p.strategy, "sweep.id": p.sweepId };
      case "wf-window":
      case "wf-root":
        return { asset: p.asset, "backtest.mode": p.mode, strategy: p.strategy, "walk_forward.id": p.walkForwardId };
    }
  },
});
