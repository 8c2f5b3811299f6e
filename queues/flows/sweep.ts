// A parameter sweep as one flow: chunk jobs (each evaluates a batch of combinations in a worker thread)
// under a ranking job that runs when they are done — also when some failed (tolerated edges) — and
// ranks the full grid by Sharpe, then computes the sweep's DSR and PBO (compute/research/) from what the
// chunks stored per combination.
import type { Context } from "@opentelemetry/api";
import { createHash } from "node:crypto";
import type { FlowJob } from "bullmq";
import { flowNode } from "../enqueue.ts";
import type { Fleet } from "../fleet.ts";
import { backtestKind } from "../registry.ts";
import { EDGE } from "./daily-refresh.ts";
import { emaGridPairs, type IntRange } from "../../compute/backtest/sweep-grid.ts";
import { DEFAULT_PBO_BLOCKS } from "../../compute/backtest/sweep.ts";

export interface SweepSpec {
  asset: string;
  strategy: "ema_cross";
  fast: IntRange;
  slow: IntRange;
  feeBps: number;
  topN: number;
  chunkSize: number;
  /** S, the PBO blocks (default 16): the chunks summarise each combination's returns in S blocks. */
  s?: number;
}

/** Same grid, asset, fees and S → same id: enqueueing a sweep twice runs it once. */
export function sweepIdOf(s: SweepSpec): string {
  const key = [s.asset, s.strategy, s.fast, s.slow, s.feeBps, s.s ?? DEFAULT_PBO_BLOCKS];
  const h = createHash("sha256").update(JSON.stringify(key)).digest("hex").slice(0, 10);
  return `${s.asset}-${s.strategy}-${h}`;
}

export function sweepTree(fleet: Pick<Fleet, "prefix">, s: SweepSpec, parent?: Context): { tree: FlowJob; sweepId: string; combos: number; chunks: number } {
  const pairs = emaGridPairs(s.fast, s.slow);
  const sweepId = sweepIdOf(s);
  const pboBlocks = s.s ?? DEFAULT_PBO_BLOCKS;
  const children: FlowJob[] = [];
  for (let i = 0, chunk = 0; i < pairs.length; i += s.chunkSize, chunk++) {
    const combos = pairs.slice(i, i + s.chunkSize);
    children.push(flowNode(fleet, backtestKind, { mode: "sweep-chunk", sweepId, chunk, asset: s.asset, strategy: s.strategy, combos, feeBps: s.feeBps, s: pboBlocks }, EDGE.tolerated, parent));
  }
  const root = flowNode(fleet, backtestKind, { mode: "sweep-rank", sweepId, asset: s.asset, strategy: s.strategy, topN: s.topN, grid: { fast: s.fast, slow: s.slow }, feeBps: s.feeBps, s: pboBlocks }, {}, parent);
  return { tree: { ...root, children }, sweepId, combos: pairs.length, chunks: children.length };
}

export async function enqueueSweep(fleet: Fleet, s: SweepSpec, parent?: Context) {
  const { tree, ...info } = sweepTree(fleet, s, parent);
  const rootJobId = tree.opts!.jobId!;
  if (await fleet.queue(backtestKind).getJob(rootJobId)) return { ...info, rootJobId, created: false };
  await fleet.flowProducer().add(tree);
  return { ...info, rootJobId, created: true };
}
