// Backtests: stored runs with headline metrics (and the flow run, as-of day and rerun that stored each), the
// selected run's equity curve with drawdown, and the selected sweep's fast × slow → Sharpe heatmap with its
// research statistics (DSR of the best, PBO with its λ histogram and OOS-vs-IS scatter).
// ?run=<id>&sweep=<id> select; default: the newest.
import { equityChart, heatmap, histogramChart, scatterChart } from "../lib/charts.js";
import { ApiError, api, chip, ctx, fmt, h, load, mount, table } from "../lib/dom.js";

const params = new URLSearchParams(location.search);
const link = (key, value) => {
  const p = new URLSearchParams(location.search);
  p.set(key, value);
  return `?${p}`;
};

const strategy = (r) => r.signalName ?? r.signalType;
const paramsText = (p) => (p && typeof p === "object" ? Object.entries(p).map(([k, v]) => `${k}=${v}`).join(" ") : "");

function runsTable(runs, selected) {
  mount(
    "backtests",
    table(
      [
        { label: "run", num: true, value: (r) => h("a", { href: link("run", r.runId), title: `stored ${fmt.time(r.createdAt)} by job ${r.jobId}` }, r.runId) },
        { label: "as of", value: (r) => r.asOf ?? "—" },
        { label: "rerun", num: true, value: (r) => r.rerun ?? "—" },
        { label: "flow run", value: (r) => (r.flowRunId ? h("a", { href: `${ctx.base}/runs/${encodeURIComponent(r.flowRunId)}`, class: "mono" }, r.flowRunId) : "—") },
        { label: "asset", value: (r) => r.symbol },
        { label: "strategy", value: strategy },
        { label: "params", value: (r) => h("span", { class: "mono" }, paramsText(r.params)), cls: () => "wrap" },
        { label: "period", value: (r) => `${r.periodStart} → ${r.periodEnd}` },
        { label: "trades", num: true, value: (r) => fmt.int(r.trades) },
        { label: "total return", num: true, value: (r) => fmt.pct(r.totalReturn) },
        { label: "CAGR", num: true, value: (r) => fmt.pct(r.cagr) },
        { label: "Sharpe", num: true, value: (r) => fmt.num(r.sharpe) },
        { label: "Sortino", num: true, value: (r) => fmt.num(r.sortino) },
        { label: "max DD", num: true, value: (r) => fmt.pct(r.maxDrawdown) },
        { label: "win rate", num: true, value: (r) => fmt.pct(r.winRate) },
        { label: "profit factor", num: true, value: (r) => fmt.num(r.profitFactor) },
        { label: "exposure", num: true, value: (r) => fmt.pct(r.exposure) },
      ],
      runs,
      { emptyText: "no backtest stored yet", rowAttrs: (r) => ({ class: r.runId === selected ? "selected" : null, "data-run-id": r.runId }) },
    ),
  );
}

/** The runs panel scrolls by itself (the equity curve stays right below it): bring the selected run into its view. */
function revealSelected() {
  const panel = document.getElementById("backtests");
  const row = panel.querySelector("tr.selected");
  if (!row) return;
  const head = panel.querySelector("thead").getBoundingClientRect().height;
  const p = panel.getBoundingClientRect(), r = row.getBoundingClientRect();
  if (r.top >= p.top + head && r.bottom <= p.bottom) return;
  panel.scrollTop += r.top - p.top - head - (panel.clientHeight - head - r.height) / 2;
}

function sweepsTable(sweeps, selected) {
  mount(
    "sweeps",
    table(
      [
        { label: "sweep", value: (s) => h("a", { href: link("sweep", s.sweepId), class: "mono" }, s.sweepId) },
        { label: "asset", value: (s) => s.symbol },
        { label: "strategy", value: (s) => s.strategy },
        { label: "grid", value: (s) => h("span", { class: "mono" }, `fast ${s.grid?.fast?.join(":")} · slow ${s.grid?.slow?.join(":")}`) },
        { label: "combos", num: true, value: (s) => fmt.int(s.combos) },
        { label: "status", value: (s) => chip(s.status, s.failedChunks ? `${s.status} (${s.failedChunks} chunks failed)` : s.status) },
        { label: "best (fast/slow → Sharpe)", value: (s) => (s.top?.[0] ? `${s.top[0].fast}/${s.top[0].slow} → ${fmt.num(s.top[0].sharpe)}` : "—") },
        { label: "DSR", num: true, value: (s) => researchCell(s.research, fmt.num(s.research?.dsr, 3)) },
        { label: "PBO", num: true, value: (s) => researchCell(s.research, s.research?.pboSkippedReason ? h("span", { title: s.research.pboSkippedReason }, "skipped") : fmt.num(s.research?.pbo, 3)) },
        { label: "finished", value: (s) => fmt.time(s.finishedAt) },
      ],
      sweeps,
      { emptyText: "no sweep finished yet", rowAttrs: (s) => ({ class: s.sweepId === selected ? "selected" : null }) },
    ),
  );
}

/** A research number, or "skipped" with the reason on hover. */
const researchCell = (r, text) => (r?.skippedReason ? h("span", { title: r.skippedReason }, "skipped") : text);

async function sweepResearch(sweepId) {
  // The λ histogram and the OOS-vs-IS scatter exist only with a PBO (the DSR may stand alone).
  const charts = document.querySelector(".research-charts");
  charts.style.display = "none";
  if (!sweepId) return mount("research", h("p", { class: "empty" }, "no sweep selected"));
  // A 404: the sweep was ranked before research statistics were stored.
  const r = await api(`/sweeps/${encodeURIComponent(sweepId)}/research`).catch((err) => (err instanceof ApiError ? null : Promise.reject(err)));
  if (!r) return mount("research", h("p", { class: "empty" }, "no research statistics for this sweep (ranked before they existed)"));
  if (r.skippedReason) return mount("research", h("p", { class: "empty" }, `skipped (S = ${r.s}): ${r.skippedReason}`));
  const dsr = `best ${r.bestFast}/${r.bestSlow}: DSR ${fmt.num(r.dsr, 3)} (SR* ${fmt.num(r.srStar, 4)} per bar vs SR0 ${fmt.num(r.sr0, 4)} over N = ${fmt.int(r.n)} trials, T = ${fmt.int(r.t)})`;
  if (r.pboSkippedReason) return mount("research", h("p", {}, `${dsr} · PBO skipped (S = ${r.s}): ${r.pboSkippedReason}`));
  mount(
    "research",
    h(
      "p",
      {},
      `${dsr} · PBO ${fmt.num(r.pbo, 3)} (S = ${r.s}, ${fmt.int(r.splits)} splits, mean OOS Sharpe ${fmt.num(r.meanOosSharpe, 4)}, OOS ≈ ${fmt.num(r.intercept, 4)} ${r.slope < 0 ? "−" : "+"} ${fmt.num(Math.abs(r.slope), 3)}·IS)`,
    ),
  );
  charts.style.display = "";
  histogramChart(document.getElementById("lambda-hist"), r.lambdaHistEdges, r.lambdaHistCounts, { xLabel: "λ = logit of the IS-best's OOS rank (≤ 0: overfit)", mark: 0 });
  scatterChart(document.getElementById("oos-is"), r.isSharpe, r.oosSharpe, { slope: r.slope, intercept: r.intercept, xLabel: "IS Sharpe of the IS-best", yLabel: "OOS Sharpe" });
}

async function equity(run) {
  if (!run) return mount("equity", h("p", { class: "empty" }, "no backtest to draw"));
  const when = run.asOf ? ` as of ${run.asOf}${run.rerun ? `, rerun ${run.rerun}` : ""}` : "";
  document.getElementById("equity-title").textContent = `run ${run.runId}${when}: ${run.symbol} ${strategy(run)} ${paramsText(run.params)}`;
  equityChart(document.getElementById("equity"), await api(`/backtests/${run.runId}/equity`));
}

async function sweepHeatmap(sweepId) {
  const canvas = document.getElementById("heatmap");
  const tip = document.getElementById("heatmap-tip");
  if (!sweepId) return void (tip.textContent = "no sweep to draw");
  const grid = await api(`/sweeps/${encodeURIComponent(sweepId)}/grid`);
  document.getElementById("heatmap-title").textContent = `fast × slow → Sharpe · ${sweepId} (${grid.combos} combinations)`;
  heatmap(canvas, document.getElementById("heatmap-legend"), grid, (c) => {
    tip.textContent = c ? `fast ${c.fast} · slow ${c.slow} → Sharpe ${c.sharpe === null ? "n/a" : fmt.num(c.sharpe, 3)}` : "";
  });
}

await load(async () => {
  const [{ runs }, { sweeps }] = await Promise.all([api("/backtests?limit=100"), api("/sweeps")]);
  const run = params.has("run") ? runs.find((r) => String(r.runId) === params.get("run")) ?? { runId: Number(params.get("run")), symbol: "", signalType: "", params: null } : runs[0];
  const sweepId = params.get("sweep") ?? sweeps[0]?.sweepId;
  runsTable(runs, run?.runId);
  revealSelected();
  sweepsTable(sweeps, sweepId);
  await Promise.all([equity(run), sweepHeatmap(sweepId), sweepResearch(sweepId)]);
});
