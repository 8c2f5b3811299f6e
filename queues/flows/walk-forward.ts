// A walk-forward optimisation as one flow: one job per window (each evaluates the grid on its train range
// and the chosen combination on its test range in a worker thread, and stores its row) under a root job
// that stitches the windows' OOS returns and stores the summary once every window is done. A window is
// required (a failed window fails the root: a curve with a hole is not a walk-forward). Ids derive from the
// walk-forward id, so re-enqueueing after a crash adds nothing that exists and the rows are upserted.
import type { Context } from "@opentelemetry/api";
import { createHash } from "node:crypto";
import type { FlowJob } from "bullmq";
import { flowNode } from "../enqueue.ts";
import type { Fleet } from "../fleet.ts";
import { backtestKind } from "../registry.ts";
import { EDGE } from "./daily-refresh.ts";
import type { IntRange } from "../../compute/backtest/sweep-grid.ts";
import { planWindows } from "../../compute/backtest/walk-forward.ts";

export interface WalkForwardSpec {
  asset: string;
  strategy: "ema_cross";
  fast: IntRange;
  slow: IntRange;
  /** Bars per train and per test window. */
  train: number;
  test: number;
  feeBps: number;
}

/**
 * Same asset, strategy, grid, train, test, fees and number of bars → same id: enqueueing a walk-forward twice
 * runs it once, while new bars (a scheduled re-run a day later) make a new one with their windows.
 */
export function walkForwardIdOf(s: WalkForwardSpec, bars: number): string {
  const key = [s.asset, s.strategy, s.fast, s.slow, s.train, s.test, s.feeBps, bars];
  const h = createHash("sha256").update(JSON.stringify(key)).digest("hex").slice(0, 10);
  return `${s.asset}-${s.strategy}-wf-${h}`;
}

/** The flow over an asset of `bars` bars; throws naming train, test and n when no window fits (the CLI checks first). */
export function walkForwardTree(fleet: Pick<Fleet, "prefix">, s: WalkForwardSpec, bars: number, parent?: Context): { tree: FlowJob; walkForwardId: string; windows: number } {
  const plan = planWindows(bars, s.train, s.test);
  if (plan.length === 0) {
    throw new Error(`train/test: no walk-forward window fits n = ${bars} bars (train ${s.train}, test ${s.test}): the first test window starts at bar train and must start by bar n − 2`);
  }
  const walkForwardId = walkForwardIdOf(s, bars);
  const common = { walkForwardId, asset: s.asset, strategy: s.strategy, grid: { fast: s.fast, slow: s.slow }, train: s.train, test: s.test, feeBps: s.feeBps };
  const children = plan.map((w) => flowNode(fleet, backtestKind, { mode: "wf-window", ...common, k: w.k, testEnd: w.testEnd }, EDGE.required, parent));
  const root = flowNode(fleet, backtestKind, { mode: "wf-root", ...common, windows: plan.length }, {}, parent);
  return { tree: { ...root, children }, walkForwardId, windows: plan.length };
}

export async function enqueueWalkForward(fleet: Fleet, s: WalkForwardSpec, bars: number, parent?: Context) {
  const { tree, ...info } = walkForwardTree(fleet, s, bars, parent);
  const rootJobId = tree.opts!.jobId!;
  if (await fleet.queue(backtestKind).getJob(rootJobId)) return { ...info, rootJobId, created: false };
  await fleet.flowProducer().add(tree);
  return { ...info, rootJobId, created: true };
}
