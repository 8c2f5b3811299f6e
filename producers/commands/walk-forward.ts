import { Job } from "bullmq";
import { symbol } from "../../queues/kind.ts";
import { backtestKind } from "../../queues/registry.ts";
import { enqueueWalkForward } from "../../queues/flows/walk-forward.ts";
import { findAsset } from "../../db/repos/assets.ts";
import { countBars } from "../../db/repos/prices.ts";
import { findWalkForward, loadWalkForwardWindows, type StoredWindow, type WalkForwardSummary } from "../../db/repos/walk-forward.ts";
import { planWindows } from "../../compute/backtest/walk-forward.ts";
import { requireKnownAssets } from "../assets.ts";
import { progressLine, waitForJob } from "../progress.ts";
import { UsageError, check, positiveSeconds, withDatabase, type Command } from "./command.ts";
import { GRID_OPTIONS, feeBpsFlag, gridFlags, intFlag, strategyFlag } from "./grid-flags.ts";

/** Bars per window: required; 2 at least, since a one-bar range has no return. */
const windowFlag = (flag: string, v: unknown) => {
  if (v === undefined) throw new UsageError(`${flag}: required, a number of bars 2..100000 (got nothing)`);
  return intFlag(flag, v, 2, 100_000, 0);
};

const pct = (x: number) => `${(100 * x).toFixed(1)} %`;

/** The window table and the stitched OOS summary, as `walk-forward --wait` prints them. */
export function walkForwardReport(windows: readonly StoredWindow[], s: WalkForwardSummary): string[] {
  const row = (cells: string[]) => cells.join("  ").trimEnd();
  const widths = [3, 22, 22, 4, 4, 9, 10, 10, 6, 4];
  const cols = (cells: string[]) => row(cells.map((c, i) => (i === 1 || i === 2 || i === 9 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))));
  return [
    cols(["k", "train", "test", "fast", "slow", "IS Sharpe", "OOS Sharpe", "OOS return", "trades", "open"]),
    ...windows.map((w) =>
      cols([
        String(w.k),
        `${w.trainStartDate}..${w.trainEndDate}`,
        `${w.testStartDate}..${w.testEndDate}`,
        String(w.fast),
        String(w.slow),
        w.isSharpe.toFixed(3),
        w.oosSharpe.toFixed(3),
        pct(w.oosTotalReturn),
        String(w.oosTrades),
        w.openAtEnd ? "yes" : "no",
      ]),
    ),
    `stitched OOS (${s.windows} windows): total return ${pct(s.total_return)}, CAGR ${pct(s.cagr)}, Sharpe ${s.sharpe.toFixed(3)}, max drawdown ${pct(s.max_drawdown)}, trades ${s.trades}`,
    `walk-forward efficiency (mean OOS Sharpe / mean IS Sharpe): ${s.wfe.toFixed(3)}`,
  ];
}

export const walkForwardCommand: Command = {
  name: "walk-forward",
  summary: "A walk-forward optimisation of a strategy over one asset: grid on each train window, best on the next test window, OOS stitched.",
  help: `      --strategy ema_cross  Strategy (ema_cross)
      --asset SYMBOL        Asset whose daily bars are used (must be in the assets table)
      --fast LO..HI[:STEP]  Fast EMA periods
      --slow LO..HI[:STEP]  Slow EMA periods (only fast < slow pairs run)
      --step N              Step for ranges given without one (default 1)
      --train N             Bars per train window (required)
      --test N              Bars per test window (required; test windows start at train + k·test)
      --fee-bps F           Fee per side in bps (default 10)
      --wait                Show progress until stitched; print the windows, the OOS metrics and the WFE
      --timeout S           With --wait: give up after S seconds (default 900)`,
  options: {
    ...GRID_OPTIONS,
    train: { type: "string" },
    test: { type: "string" },
    wait: { type: "boolean", default: false },
    timeout: { type: "string" },
  },
  prepare(values, _positionals, cfg) {
    const strategy = strategyFlag(values.strategy);
    const asset = check(symbol, "--asset", values.asset);
    const { fast, slow, combos } = gridFlags(values, cfg);
    const train = windowFlag("--train", values.train);
    const test = windowFlag("--test", values.test);
    const spec = { asset, strategy, fast, slow, train, test, feeBps: feeBpsFlag(values["fee-bps"]) };
    const timeoutS = positiveSeconds("--timeout", values.timeout, 900);
    return async (ctx) => {
      const n = await withDatabase(ctx, async (db) => {
        await requireKnownAssets(db, "--asset", [asset]);
        return countBars(db, (await findAsset(db, asset))!.asset_id);
      });
      if (planWindows(n, train, test).length === 0) {
        throw new UsageError(`--train/--test: no window fits ${asset}'s n = ${n} bars: the first test window starts at bar --train = ${train}, which must be ≤ n − 2 = ${n - 2}`);
      }
      const fleet = await ctx.fleet();
      const r = await enqueueWalkForward(fleet, spec, n, await ctx.trace());
      ctx.out.write(`${r.created ? "enqueued" : "already enqueued"} walk-forward ${r.walkForwardId}: ${r.windows} windows of ${combos} combinations\n`);
      if (!values.wait) return 0;
      const queue = fleet.queue(backtestKind);
      const { state, job } = await waitForJob(queue, r.rootJobId, `walk-forward ${r.walkForwardId}`, {
        timeoutMs: timeoutS * 1000,
        out: process.stderr,
        signal: ctx.signal,
        onPending: async () => {
          const counts = await (await Job.fromId(queue, r.rootJobId))?.getDependenciesCount();
          progressLine(process.stderr, (counts?.processed ?? 0) + (counts?.failed ?? 0), r.windows, "windows");
        },
      });
      if (state === "failed") throw new Error(`walk-forward ${r.walkForwardId} failed: ${job.failedReason}`);
      const [windows, summary] = await withDatabase(ctx, (db) => Promise.all([loadWalkForwardWindows(db, r.walkForwardId), findWalkForward(db, r.walkForwardId)]));
      if (!summary) throw new Error(`walk-forward ${r.walkForwardId} completed but its summary is not in walk_forwards`);
      for (const line of walkForwardReport(windows, summary)) ctx.out.write(`${line}\n`);
      return 0;
    };
  },
};
