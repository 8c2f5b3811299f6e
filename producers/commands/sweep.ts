import { Job } from "bullmq";
import { symbol } from "../../queues/kind.ts";
import type { BacktestResult, SweepResearchSummary } from "../../queues/kinds/backtest.ts";
import { backtestKind } from "../../queues/registry.ts";
import { enqueueSweep } from "../../queues/flows/sweep.ts";
import { DEFAULT_PBO_BLOCKS } from "../../compute/backtest/sweep.ts";
import { requireKnownAssets } from "../assets.ts";
import { progressLine, waitForJob } from "../progress.ts";
import { UsageError, check, positiveSeconds, withDatabase, type Command } from "./command.ts";
import { GRID_OPTIONS, feeBpsFlag, gridFlags, intFlag, strategyFlag } from "./grid-flags.ts";

/** The sweep's DSR (of its best by per-bar Sharpe) and PBO, or why either was not computed. */
function researchLine(r: SweepResearchSummary | undefined): string {
  if (!r) return "research: not computed (ranked by an older worker)";
  if (r.skipped !== null) return `research skipped (S = ${r.s}): ${r.skipped}`;
  const pbo = r.pbo === null ? `PBO skipped (S = ${r.s}): ${r.pboSkipped}` : `PBO ${r.pbo.toFixed(3)} (S = ${r.s}, ${r.splits} splits)`;
  return `best fast ${r.best.fast} slow ${r.best.slow}: DSR ${r.dsr.toFixed(3)} over N = ${r.n} trials, T = ${r.t} returns; ${pbo}`;
}

export const sweepCommand: Command = {
  name: "sweep",
  summary: "A parameter sweep of a strategy over one asset, ranked by Sharpe (full grid kept for a heatmap).",
  help: `      --strategy ema_cross  Strategy (ema_cross)
      --asset SYMBOL        Asset whose daily bars are backtested (must be in the assets table)
      --fast LO..HI[:STEP]  Fast EMA periods
      --slow LO..HI[:STEP]  Slow EMA periods (only fast < slow pairs run)
      --step N              Step for ranges given without one (default 1)
      --fee-bps F           Fee per side in bps (default 10)
      --top N               How many of the best to report (default 10)
      --chunk-size N        Combinations per job (default 250)
      --pbo-blocks S        Blocks of the PBO's cross-validation, even 4..24 (default 16)
      --wait                Show progress until ranked; print the top, the DSR and the PBO
      --timeout S           With --wait: give up after S seconds (default 900)`,
  options: {
    ...GRID_OPTIONS,
    top: { type: "string" },
    "chunk-size": { type: "string" },
    "pbo-blocks": { type: "string" },
    wait: { type: "boolean", default: false },
    timeout: { type: "string" },
  },
  prepare(values, _positionals, cfg) {
    const strategy = strategyFlag(values.strategy);
    const asset = check(symbol, "--asset", values.asset);
    const { fast, slow } = gridFlags(values, cfg);
    const feeBps = feeBpsFlag(values["fee-bps"]);
    const s = values["pbo-blocks"] === undefined ? DEFAULT_PBO_BLOCKS : Number(values["pbo-blocks"]);
    if (!(Number.isInteger(s) && s >= 4 && s <= 24 && s % 2 === 0)) throw new UsageError(`--pbo-blocks: must be an even integer 4..24 (got ${JSON.stringify(values["pbo-blocks"])})`);
    const spec = { asset, strategy, fast, slow, feeBps, topN: intFlag("--top", values.top, 1, 1000, 10), chunkSize: intFlag("--chunk-size", values["chunk-size"], 1, 5000, 250), s };
    const timeoutS = positiveSeconds("--timeout", values.timeout, 900);
    return async (ctx) => {
      await withDatabase(ctx, (db) => requireKnownAssets(db, "--asset", [asset]));
      const fleet = await ctx.fleet();
      const r = await enqueueSweep(fleet, spec, await ctx.trace());
      ctx.out.write(`${r.created ? "enqueued" : "already enqueued"} sweep ${r.sweepId}: ${r.combos} combinations in ${r.chunks} jobs\n`);
      if (!values.wait) return 0;
      const queue = fleet.queue(backtestKind);
      const { state, job } = await waitForJob(queue, r.rootJobId, `sweep ${r.sweepId}`, {
        timeoutMs: timeoutS * 1000,
        out: process.stderr,
        signal: ctx.signal,
        onPending: async () => {
          const counts = await (await Job.fromId(queue, r.rootJobId))?.getDependenciesCount();
          progressLine(process.stderr, (counts?.processed ?? 0) + (counts?.ignored ?? 0) + (counts?.failed ?? 0), r.chunks, "chunks");
        },
      });
      if (state === "failed") throw new Error(`sweep ${r.sweepId} failed: ${job.failedReason}`);
      const res = job.returnvalue as BacktestResult;
      ctx.out.write(`ranked ${res.evaluated} combinations (${res.failedChunks} failed chunks); top by Sharpe:\n`);
      for (const b of res.best ?? []) {
        const psr = b.psr === null ? "" : `  PSR ${b.psr.toFixed(3)}`;
        ctx.out.write(`  fast ${String(b.fast).padStart(3)}  slow ${String(b.slow).padStart(3)}  sharpe ${b.sharpe.toFixed(3)}  total return ${(100 * b.totalReturn).toFixed(1)} %${psr}\n`);
      }
      ctx.out.write(`${researchLine(res.research)}\n`);
      return res.failedChunks ? 1 : 0;
    };
  },
};
