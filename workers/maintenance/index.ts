// The fleet's own housekeeping jobs.
import { findAsset, unknownSymbolProblem } from "../../db/repos/assets.ts";
import { countBars } from "../../db/repos/prices.ts";
import { planWindows } from "../../compute/backtest/walk-forward.ts";
import { enqueueWalkForward } from "../../queues/flows/walk-forward.ts";
import { interruptStaleCalls } from "../../db/repos/llm-ledger.ts";
import { refreshQualityRollups } from "../../db/repos/quality.ts";
import { dailyRefresh } from "../../queues/flows/daily-refresh.ts";
import { createAlerting } from "../../alerts/alerting.ts";
import { budgetUsageFrom } from "../../alerts/budgets.ts";
import { llmQuotaFromConfig } from "../../queues/llm-quota.ts";
import type { maintenanceKind } from "../../queues/registry.ts";
import type { WorkerDeps } from "../deps.ts";
import { PermanentError } from "../errors.ts";
import type { Processor } from "../runtime.ts";

export function maintenanceProcessor(deps: WorkerDeps): Processor<typeof maintenanceKind> {
  // Built at start-up, so a process without Telegram configured says so once, not every minute.
  const quota = llmQuotaFromConfig(deps.cfg, deps.fleet, deps.pool, deps.log);
  const alerting = createAlerting({ ...deps, budgetUsage: budgetUsageFrom((p) => quota.budgetUsage(p), quota.providers) });
  return async (p, ctx) => {
    switch (p.task) {
      case "smoke": {
        // Keyed by job id: a retried or duplicated execution writes the row once and counts the run.
        const { rows } = await deps.pool.query<{ runs: number }>(
          `INSERT INTO fleet_smoke (job_id, message, worker_pid) VALUES ($1, $2, $3)
           ON CONFLICT (job_id) DO UPDATE SET runs = fleet_smoke.runs + 1 RETURNING runs`,
          [ctx.job.id, p.message, process.pid],
        );
        return { task: p.task, runs: rows[0]!.runs, pid: process.pid };
      }
      case "daily-refresh": {
        // The schedule names its assets in config; one not (yet) imported is refused before anything is
        // enqueued, like the CLI does, and the failed job's alert names it.
        const problem = await unknownSymbolProblem(deps.pool, "assets", p.assets);
        if (problem) throw new PermanentError(problem);
        const asOf = p.asOf ?? new Date(ctx.job.timestamp).toISOString().slice(0, 10);
        return { task: p.task, ...(await dailyRefresh(deps.fleet, p.assets, asOf, { parent: ctx.trace })) };
      }
      case "walk-forward": {
        const problem = await unknownSymbolProblem(deps.pool, "assets", p.assets);
        if (problem) throw new PermanentError(problem);
        const walkForwards = [];
        for (const asset of p.assets) {
          const bars = await countBars(deps.pool, (await findAsset(deps.pool, asset))!.asset_id);
          // Too few bars yet for one window is the asset's state, not a failure of the others.
          if (planWindows(bars, p.train, p.test).length === 0) {
            ctx.log.warn({ asset, bars, train: p.train, test: p.test }, "scheduled walk-forward skipped: no window fits the asset's bars yet");
            walkForwards.push({ asset, skipped: `no window fits ${bars} bars (train ${p.train}, test ${p.test})` });
            continue;
          }
          const r = await enqueueWalkForward(deps.fleet, { asset, strategy: "ema_cross", fast: p.fast, slow: p.slow, train: p.train, test: p.test, feeBps: p.feeBps }, bars, ctx.trace);
          walkForwards.push({ asset, walkForwardId: r.walkForwardId, windows: r.windows, created: r.created });
        }
        return { task: p.task, walkForwards };
      }
      case "quality-rollup": {
        return { task: p.task, ...(await refreshQualityRollups(deps.pool, new Date(Date.now() - p.hours * 3600_000))) };
      }
      case "metrics-partitions": {
        const created = await deps.pool.query<{ n: number }>("SELECT observability.ensure_metrics_partitions($1) AS n", [p.ahead]);
        const dropped = await deps.pool.query<{ n: number }>("SELECT observability.drop_metrics_partitions(make_interval(days => $1)) AS n", [p.retentionDays]);
        return { task: p.task, created: created.rows[0]!.n, dropped: dropped.rows[0]!.n };
      }
      case "span-partitions": {
        const created = await deps.pool.query<{ n: number }>("SELECT observability.ensure_span_partitions($1) AS n", [p.aheadDays]);
        const expired = await deps.pool.query<{ dropped: number; deleted: string }>("SELECT dropped, deleted FROM observability.drop_span_partitions(make_interval(days => $1))", [p.retentionDays]);
        const { dropped, deleted } = expired.rows[0]!;
        return { task: p.task, created: created.rows[0]!.n, dropped, stragglersDeleted: Number(deleted) };
      }
      case "llm-calls-expire": {
        return { task: p.task, interrupted: await interruptStaleCalls(deps.pool, p.olderThanMinutes) };
      }
      case "alerts-evaluate": {
        const evaluated = await alerting.evaluate();
        // Bounded (20 alerts, stops at the first Telegram failure): the bot process delivers continuously;
        // this pass keeps alerts flowing in a fleet that runs without it.
        return { task: p.task, ...evaluated, delivered: await alerting.deliver() };
      }
    }
  };
}
