// JSON endpoints of the research pages: backtests (equity curves), sweeps (heatmaps, DSR and PBO), walk-forwards
// (windows, stitched OOS curve against the full-period best) and LLM budgets.
import { Router } from "express";
import { backtestEquity, listBacktests, listSweeps, listWalkForwards, llmLedgerByDay, sweepGrid, sweepResearchRow, walkForwardDetail } from "../../../db/repos/dashboard-research.ts";
import { backtestKind } from "../../../queues/registry.ts";
import type { DashboardDeps } from "./deps.ts";
import { P, Q, parseParams } from "./params.ts";
import { alignCurves, heatmap } from "./shape.ts";

/** Today in a time zone, YYYY-MM-DD (the day the LLM budgets count). */
export const localDay = (tz: string, at = new Date()) => new Intl.DateTimeFormat("en-CA", { timeZone: tz, year: "numeric", month: "2-digit", day: "2-digit" }).format(at);

/**
 * The as-of day and rerun number (null: the day's first run) of a backtest stored by a signal-mode job, read
 * back from its job id (backtestKind.jobId: backtest.<signalId>.<asset>.<asOf>[.r<n>]); null for any other
 * id. The reading is kept only when the kind builds the very same id from it.
 */
function backtestJobRun(jobId: string): { asOf: string; rerun: number | null } | null {
  const m = /^backtest\.(\d+)\.(.+)\.(\d{4}-\d{2}-\d{2})(?:\.r(\d+))?$/.exec(jobId);
  if (!m) return null;
  const [, signalId, asset, asOf, rerun] = m as unknown as [string, string, string, string, string | undefined];
  const rebuilt = backtestKind.jobId({ mode: "signal", signalId: Number(signalId), asset, asOf, ...(rerun ? { rerun: Number(rerun) } : {}) });
  return rebuilt === jobId ? { asOf, rerun: rerun ? Number(rerun) : null } : null;
}

export function researchApi(d: DashboardDeps): Router {
  const r = Router();

  r.get("/backtests", async (req, res) => {
    const q = parseParams(Q.backtests, req.query);
    const runs = await listBacktests(d.db, { limit: q.limit, symbol: q.symbol, signalType: q.strategy });
    res.json({ runs: runs.map((r) => ({ ...r, ...(backtestJobRun(r.jobId) ?? { asOf: null, rerun: null }) })) });
  });

  r.get("/backtests/:runId/equity", async (req, res) => {
    parseParams(Q.none, req.query);
    const { runId } = parseParams(P.backtest, req.params);
    const curve = await backtestEquity(d.db, runId);
    if (!curve.t.length) return void res.status(404).json({ error: `no equity curve for backtest run ${runId}` });
    res.json({ runId, ...curve });
  });

  r.get("/sweeps", async (req, res) => {
    const { limit } = parseParams(Q.sweeps, req.query);
    res.json({ sweeps: await listSweeps(d.db, limit) });
  });

  r.get("/sweeps/:sweepId/grid", async (req, res) => {
    parseParams(Q.none, req.query);
    const { sweepId } = parseParams(P.sweep, req.params);
    const cells = await sweepGrid(d.db, sweepId);
    if (!cells.length) return void res.status(404).json({ error: `no results for sweep ${sweepId}` });
    res.json({ sweepId, combos: cells.length, ...heatmap(cells) });
  });

  r.get("/sweeps/:sweepId/research", async (req, res) => {
    parseParams(Q.none, req.query);
    const { sweepId } = parseParams(P.sweep, req.params);
    const research = await sweepResearchRow(d.db, sweepId);
    if (!research) return void res.status(404).json({ error: `no research statistics for sweep ${sweepId}` });
    res.json(research);
  });

  r.get("/walk-forwards", async (req, res) => {
    const q = parseParams(Q.walkForwards, req.query);
    res.json({ walkForwards: await listWalkForwards(d.db, { limit: q.limit, symbol: q.symbol }) });
  });

  r.get("/walk-forwards/:walkForwardId", async (req, res) => {
    parseParams(Q.none, req.query);
    const { walkForwardId } = parseParams(P.walkForward, req.params);
    const wf = await walkForwardDetail(d.db, walkForwardId);
    if (!wf) return void res.status(404).json({ error: `no walk-forward ${walkForwardId} stored (it may still be running)` });
    const { curveDates, curveEquity, bestCurveDates, bestCurveEquity, windowRows, ...head } = wf;
    const curves = [{ name: "stitched OOS", dates: curveDates, values: curveEquity }];
    if (bestCurveDates && bestCurveEquity) curves.push({ name: `full-period best ${wf.bestFast}/${wf.bestSlow} (in-sample)`, dates: bestCurveDates, values: bestCurveEquity });
    res.json({ ...head, windowRows, curve: alignCurves(curves) });
  });

  r.get("/llm", async (req, res) => {
    const { days } = parseParams(Q.llm, req.query);
    const [ledger, usage] = await Promise.all([llmLedgerByDay(d.db, days, d.llmTz), d.llmUsage?.() ?? Promise.resolve(null)]);
    const today = localDay(d.llmTz);
    const spent = new Map(ledger.filter((l) => l.day === today).map((l) => [l.provider, l]));
    const providers = [...new Set([...(usage ?? []).map((u) => u.provider), ...spent.keys()])].sort();
    res.json({
      tz: d.llmTz,
      today,
      liveUsage: usage !== null,
      providers: providers.map((p) => ({ provider: p, usage: usage?.find((u) => u.provider === p) ?? null, ledger: spent.get(p) ?? null })),
      days: ledger,
    });
  });

  return r;
}
