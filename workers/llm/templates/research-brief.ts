// Pure: the research brief's prompt from a typed context (db/repos/research-context.ts and the run's
// summary). Every figure the model is asked about appears in the prompt verbatim, section by section, so
// the answer can be checked against it; nothing here reads a clock, the database or the environment.
import type { PositionContext, QualityContext, SweepContext, WalkForwardContext } from "../../../db/repos/research-context.ts";
import { failureText, strategyLabel, type AssetSummary, type RunSummary } from "../../../queues/kinds/flow.ts";

export interface ResearchBriefContext {
  run: Pick<RunSummary, "runId" | "asOf" | "status" | "assets">;
  quality: readonly QualityContext[];
  positions: readonly PositionContext[];
  sweeps: readonly SweepContext[];
  walkForwards: readonly WalkForwardContext[];
}

export const RESEARCH_BRIEF_SYSTEM =
  "You are the research assistant of a quantitative trading lab. Write a concise daily research brief in plain text " +
  "(no Markdown tables), grounded only in the data given. Name assets and strategies as given. Say plainly when data is missing.";

/** Output budget of a brief (tokens). */
export const RESEARCH_BRIEF_MAX_OUTPUT_TOKENS = 2_048;
/** Walk-forward windows listed per asset (the most recent ones); the drift summary covers them all. */
export const MAX_WINDOWS = 24;

const num = (v: number | null | undefined, digits = 2): string => (v === null || v === undefined || !Number.isFinite(v) ? "n/a" : v.toFixed(digits));
const pct = (v: number | null | undefined): string => (v === null || v === undefined || !Number.isFinite(v) ? "n/a" : `${(v * 100).toFixed(2)}%`);

function assetLine(a: AssetSummary): string {
  const parts = [`- ${a.asset}: ${a.status}`];
  if (a.quality) parts.push(`quality ${num(a.quality.score, 1)} (${a.quality.status})`);
  if (a.failedAt) parts.push(`failed at ${a.failedAt}: ${failureText(a)}`);
  const lines = [parts.join(", ")];
  for (const s of a.strategies ?? []) {
    const figures = s.status === "completed" ? `Sharpe ${num(s.sharpe)}, total return ${pct(s.totalReturn)}` : `failed: ${failureText(s)}`;
    lines.push(`  - ${strategyLabel(s)}: ${figures}`);
  }
  return lines.join("\n");
}

function qualityLines(q: readonly QualityContext[]): string[] {
  if (!q.length) return ["- no data-quality check recorded for the day"];
  return q.flatMap((x) => [
    `- ${x.symbol}: score ${num(x.overallScore, 1)} (${x.status}), ${x.issues.length} issue(s)`,
    ...x.issues.map((i) => `  - [${i.severity}] ${i.check}: ${i.message}`),
  ]);
}

function positionLines(p: readonly PositionContext[]): string[] {
  if (!p.length) return ["- no position opened, closed or open on the day"];
  return p.map((x) => {
    const exit = x.exitDate ? `, exit ${x.exitDate} at ${num(x.exitPrice, 4)}` : "";
    return `- ${x.symbol} ${x.strategy}: ${x.event} (entry ${x.entryDate} at ${num(x.entryPrice, 4)}${exit})`;
  });
}

function sweepLines(s: readonly SweepContext[]): string[] {
  if (!s.length) return ["- no sweep recorded for these assets"];
  return s.map((x) => {
    const best = x.bestFast !== null && x.bestSlow !== null ? `best fast ${x.bestFast} / slow ${x.bestSlow}, Sharpe ${num(x.bestSharpe)}, total return ${pct(x.bestTotalReturn)}` : "best combination unknown";
    const pbo = x.pbo !== null ? `PBO ${num(x.pbo, 3)}` : `PBO n/a (${x.pboSkipped ?? "not computed"})`;
    const research = x.dsr !== null ? `DSR ${num(x.dsr, 3)}, ${pbo}` : `DSR/PBO n/a (${x.researchSkipped ?? "not computed"})`;
    return `- ${x.symbol} ${x.strategy} sweep ${x.sweepId} (${x.combos} combinations, finished ${x.finishedAt} UTC): ${best}; ${research}`;
  });
}

function walkForwardLines(w: readonly WalkForwardContext[]): string[] {
  if (!w.length) return ["- no walk-forward recorded for these assets"];
  return w.flatMap((x) => {
    const pairs = x.windows.map((k) => `${k.fast}/${k.slow}`);
    const changes = pairs.filter((p, i) => i > 0 && p !== pairs[i - 1]).length;
    const fasts = x.windows.map((k) => k.fast);
    const slows = x.windows.map((k) => k.slow);
    const range = (xs: number[]) => (xs.length ? `${Math.min(...xs)}..${Math.max(...xs)}` : "n/a");
    const shown = x.windows.slice(-MAX_WINDOWS);
    return [
      `- ${x.symbol} ${x.strategy} walk-forward ${x.walkForwardId}: ${x.windows.length} window(s), WFE ${num(x.wfe)}, fast ${range(fasts)}, slow ${range(slows)}, ${changes} parameter change(s) between consecutive windows`,
      ...(shown.length < x.windows.length ? [`  (last ${shown.length} windows shown)`] : []),
      ...shown.map((k) => `  - window ${k.k} (test ${k.testStart}..${k.testEnd}): fast ${k.fast} / slow ${k.slow}, OOS Sharpe ${num(k.oosSharpe)}`),
    ];
  });
}

/** The user prompt of the brief for one run. */
export function buildResearchBriefPrompt(ctx: ResearchBriefContext): string {
  const { run } = ctx;
  return [
    `Daily research brief for run ${run.runId} (as of ${run.asOf}); the run ended ${run.status}.`,
    "",
    "## Run summary per asset",
    ...run.assets.map(assetLine),
    "",
    "## Data quality on the day",
    ...qualityLines(ctx.quality),
    "",
    "## Positions as of the day",
    ...positionLines(ctx.positions),
    "",
    "## Latest parameter sweep (best combination, Deflated Sharpe Ratio, Probability of Backtest Overfitting)",
    ...sweepLines(ctx.sweeps),
    "",
    "## Walk-forward: parameters chosen per window (drift)",
    ...walkForwardLines(ctx.walkForwards),
    "",
    "Write the brief: 1) what happened in the run and to the data; 2) positions to watch; 3) how far the sweep's best can be trusted " +
      "(DSR near 1 and PBO near 0 are good) and whether the walk-forward's parameter drift supports it; 4) up to three next research steps.",
  ].join("\n");
}
