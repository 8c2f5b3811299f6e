import { dailyRefresh } from "../../queues/flows/daily-refresh.ts";
import { isoDate, symbol } from "../../queues/kind.ts";
import { formatSummary, waitForRun } from "../progress.ts";
import { UsageError, check, positiveSeconds, type Command } from "./command.ts";

export const dailyRefreshCommand: Command = {
  name: "daily-refresh",
  summary: "The feature pipeline, signals and backtests for each asset as of a day.",
  help: `      --assets A,B       Symbols (default: DAILY_REFRESH_ASSETS)
      --as-of YYYY-MM-DD Day of the run (default: today, UTC)
      --rerun N          Run the same day again as a new run (N = 1, 2, ...)
      --wait             Show progress until the run ends; exit 1 unless every asset completed
      --timeout S        With --wait: give up after S seconds (default 900)`,
  options: {
    assets: { type: "string" },
    "as-of": { type: "string" },
    rerun: { type: "string" },
    wait: { type: "boolean", default: false },
    timeout: { type: "string" },
  },
  prepare(values, _positionals, cfg) {
    const raw = typeof values.assets === "string" ? values.assets.split(",").map((a) => a.trim()).filter(Boolean) : [...cfg.DAILY_REFRESH_ASSETS];
    const assets = raw.map((a) => check(symbol, "--assets", a));
    if (!assets.length) throw new UsageError("--assets: at least one symbol is required");
    const asOf = check(isoDate, "--as-of", values["as-of"] ?? new Date().toISOString().slice(0, 10));
    const rerun = values.rerun === undefined ? undefined : Number(values.rerun);
    if (rerun !== undefined && !(Number.isInteger(rerun) && rerun >= 1 && rerun <= 999)) {
      throw new UsageError(`--rerun: must be an integer 1..999 (got ${JSON.stringify(values.rerun)})`);
    }
    const timeoutS = positiveSeconds("--timeout", values.timeout, 900);
    return async (ctx) => {
      const fleet = await ctx.fleet();
      const r = await dailyRefresh(fleet, assets, asOf, { ...(rerun ? { rerun } : {}), parent: await ctx.trace() });
      ctx.out.write(`${r.created ? "enqueued" : "already enqueued"} run ${r.runId} (root job ${r.rootJobId}) for ${assets.join(", ")}\n`);
      if (!values.wait) return 0;
      const summary = await waitForRun(fleet, r.rootJobId, assets, { asOf, ...(rerun ? { rerun } : {}) }, { timeoutMs: timeoutS * 1000, signal: ctx.signal });
      ctx.out.write(`${formatSummary(summary)}\n`);
      return summary.status === "completed" ? 0 : 1;
    };
  },
};
