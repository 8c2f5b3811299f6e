import { RunConflictError, dailyRefresh } from "../../queues/flows/daily-refresh.ts";
import { isoDate, symbol } from "../../queues/kind.ts";
import { requireKnownAssets } from "../assets.ts";
import { formatSummary, waitForRun } from "../progress.ts";
import { MAX_RERUN, describeExisting, findRun, hasOutcome, isFinished, nextFreeRerun, type RunLookup } from "../runs.ts";
import { UsageError, check, positiveSeconds, withDatabase, type Command } from "./command.ts";

export const dailyRefreshCommand: Command = {
  name: "daily-refresh",
  summary: "The feature pipeline, signals and backtests for each asset as of a day.",
  help: `      --assets A,B       Symbols (default: DAILY_REFRESH_ASSETS); each must be in the assets table
      --as-of YYYY-MM-DD Day of the run (default: today, UTC)
      --rerun N|next     Run the same day again as a new run (N = 1, 2, ...; next: the lowest free number)
      --wait             Show progress until the run ends (or the existing run's outcome); exit 1 unless every asset completed
      --timeout S        With --wait: give up after S seconds (default 900)`,
  options: {
    assets: { type: "string" },
    "as-of": { type: "string" },
    rerun: { type: "string" },
    wait: { type: "boolean", default: false },
    timeout: { type: "string" },
  },
  prepare(values, _positionals, cfg) {
    // The field an unknown symbol is reported under: the flag, or the setting the default came from.
    const field = typeof values.assets === "string" ? "--assets" : "DAILY_REFRESH_ASSETS";
    const raw = typeof values.assets === "string" ? values.assets.split(",").map((a) => a.trim()).filter(Boolean) : [...cfg.DAILY_REFRESH_ASSETS];
    const assets = raw.map((a) => check(symbol, field, a));
    if (!assets.length) throw new UsageError("--assets: at least one symbol is required");
    const asOf = check(isoDate, "--as-of", values["as-of"] ?? new Date().toISOString().slice(0, 10));
    const rerunArg = values.rerun === "next" ? "next" : values.rerun === undefined ? undefined : Number(values.rerun);
    if (typeof rerunArg === "number" && !(Number.isInteger(rerunArg) && rerunArg >= 1 && rerunArg <= MAX_RERUN)) {
      throw new UsageError(`--rerun: must be next or an integer 1..${MAX_RERUN} (got ${JSON.stringify(values.rerun)})`);
    }
    const timeoutS = positiveSeconds("--timeout", values.timeout, 900);
    const list = assets.join(", ");
    return async (ctx) => {
      // Everything that can refuse the command runs before anything is enqueued.
      const { rerun, lookup } = await withDatabase(ctx, async (db): Promise<{ rerun: number | undefined; lookup?: RunLookup }> => {
        await requireKnownAssets(db, field, assets);
        const fleet = await ctx.fleet();
        // A number --rerun next picked is free by definition: there is nothing to look up.
        if (rerunArg === "next") return { rerun: await nextFreeRerun(fleet, db, assets, asOf) };
        return { rerun: rerunArg, lookup: await findRun(fleet, db, assets, asOf, rerunArg) };
      });
      const fleet = await ctx.fleet();
      const timing = { timeoutMs: timeoutS * 1000, signal: ctx.signal };
      if (lookup?.taken) {
        const day = rerun ? `rerun ${rerun} of ${asOf}` : asOf;
        throw new RunConflictError(`${lookup.taken.asset} is already in run ${lookup.taken.runId} (another asset set) for ${day}; pass --rerun next to run ${list} again`);
      }
      const existing = lookup?.existing;
      if (existing) {
        const action = !values.wait ? "--wait shows its result" : !hasOutcome(existing) ? "there is no outcome to show" : isFinished(existing) ? "showing its result" : "waiting for it";
        ctx.out.write(`existing run for ${list}, nothing enqueued: ${describeExisting(existing, asOf)}; ${action} — --rerun next runs it again\n`);
        if (!values.wait) return 0;
        if (!hasOutcome(existing)) return 1;
        const summary = existing.summary ?? (await waitForRun(fleet, existing.rootJobId, assets, { asOf, ...(rerun ? { rerun } : {}) }, timing));
        ctx.out.write(`${formatSummary(summary)}\n`);
        return summary.status === "completed" ? 0 : 1;
      }
      const r = await dailyRefresh(fleet, assets, asOf, { ...(rerun ? { rerun } : {}), parent: await ctx.trace() });
      const picked = rerunArg === "next" ? ` (--rerun next: rerun ${rerun}, the lowest free number for ${asOf})` : "";
      ctx.out.write(`${r.created ? "enqueued" : "already enqueued"} run ${r.runId} (root job ${r.rootJobId}) for ${list}${picked}\n`);
      if (!values.wait) return 0;
      const summary = await waitForRun(fleet, r.rootJobId, assets, { asOf, ...(rerun ? { rerun } : {}) }, timing);
      ctx.out.write(`${formatSummary(summary)}\n`);
      return summary.status === "completed" ? 0 : 1;
    };
  },
};
