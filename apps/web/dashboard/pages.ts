// Server-rendered page shells: layout, navigation and the containers each page's script fills from the
// JSON endpoints (static/pages/<page>.js). Every interpolated value is escaped.
import { READ_ONLY_KEY } from "./deps.ts";

export type PageName = "fleet" | "runs" | "run" | "alerts" | "llm" | "backtests" | "walkforwards" | "walkforward";

export interface PageContext {
  /** Where the dashboard is mounted (/dashboard). */
  base: string;
  boardPath: string;
  readOnly: boolean;
}

/** The mode badge's help: what the mode allows and the setting that changes it. */
const modeHelp = (readOnly: boolean) =>
  readOnly
    ? `Read-only: write actions (retrying a failed job, acknowledging an alert, bull-board's retry, promote, clean and pause) are refused. To allow them, set ${READ_ONLY_KEY}=false in the web process's environment and restart it.`
    : `Writable (${READ_ONLY_KEY}=false): failed jobs can be retried here and alerts acknowledged, and bull-board's actions are enabled. Set ${READ_ONLY_KEY}=true (the default) and restart the web process to make both read-only.`;

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const NAV: Array<[PageName, string, string]> = [
  ["fleet", "Fleet", ""],
  ["runs", "Flow runs", "/runs"],
  ["alerts", "Alerts", "/alerts"],
  ["llm", "LLM budgets", "/llm"],
  ["backtests", "Backtests", "/backtests"],
  ["walkforwards", "Walk-forwards", "/walk-forwards"],
];

const BODIES: Record<PageName, (attrs: Record<string, string>) => string> = {
  fleet: () => `
    <h1>Fleet overview</h1>
    <section><h2>Queue depths by state</h2><div id="queues" class="panel"></div></section>
    <section class="charts">
      <div class="chart-box"><h2>Throughput <small>(completed jobs / min)</small></h2><div id="throughput" class="chart"></div></div>
      <div class="chart-box"><h2>p95 run time <small>(per queue)</small></h2><div id="p95" class="chart"></div></div>
    </section>
    <p class="controls">Window: <select id="window"><option value="60">1 h</option><option value="360">6 h</option><option value="1440">24 h</option><option value="10080">7 d</option></select></p>
    <section><h2>Workers alive</h2><div id="workers" class="panel"></div></section>
    <section><h2>Failures in the last hour</h2><div id="failures" class="panel"></div></section>`,
  runs: () => `
    <h1>Flow runs <small>(daily refresh)</small></h1>
    <div id="runs" class="panel"></div>`,
  run: (a) => `
    <h1>Run <code>${esc(a.runId ?? "")}</code></h1>
    <div id="run-head" class="panel"></div>
    <section><h2>Assets</h2><div id="assets" class="panel"></div></section>
    <section id="research-brief"><h2>Research brief</h2><div id="brief" class="panel"></div></section>
    <section><h2>Trace waterfall</h2><div id="waterfall" class="panel"></div></section>
    <section><h2>Workflow events</h2><div id="events" class="panel"></div></section>`,
  alerts: () => `
    <h1>Alerts</h1>
    <p class="controls" id="alert-filter">Show: <a href="?state=open">open</a> · <a href="?state=resolved">resolved</a> · <a href="?state=all">all</a></p>
    <div id="alerts" class="panel"></div>`,
  llm: () => `
    <h1>LLM budgets</h1>
    <section><h2>Today <small id="llm-day"></small></h2><div id="budgets" class="panel"></div></section>
    <section><h2>Cost by day <small>(USD)</small></h2><div id="cost-chart" class="chart"></div></section>
    <section><h2>Ledger by day</h2><div id="ledger" class="panel"></div></section>`,
  backtests: () => `
    <h1>Backtests</h1>
    <section><h2>Runs</h2><div id="backtests" class="panel scroll"></div></section>
    <section><h2>Equity curve <small id="equity-title"></small></h2><div id="equity" class="chart"></div></section>
    <section><h2>Sweeps <small><a href="walk-forwards">walk-forwards →</a></small></h2><div id="sweeps" class="panel"></div></section>
    <section><h2>Sweep heatmap <small id="heatmap-title">fast × slow → Sharpe</small></h2>
      <div class="heatmap-box"><canvas id="heatmap" width="720" height="420"></canvas><div id="heatmap-legend"></div></div>
      <div id="heatmap-tip" class="tip"></div></section>
    <section><h2>Sweep research <small>deflated Sharpe ratio, probability of backtest overfitting</small></h2><div id="research" class="panel"></div>
      <div class="research-charts"><canvas id="lambda-hist" width="420" height="240"></canvas><canvas id="oos-is" width="420" height="240"></canvas></div></section>`,
  walkforwards: () => `
    <h1>Walk-forwards <small>per asset, latest first</small></h1>
    <div id="walk-forwards" class="panel"></div>`,
  walkforward: (a) => `
    <h1>Walk-forward <code>${esc(a.walkForwardId ?? "")}</code></h1>
    <div id="wf-head" class="panel"></div>
    <section><h2>Windows</h2><div id="wf-windows" class="panel"></div></section>
    <section class="charts">
      <div class="chart-box"><h2>Stitched OOS equity <small>against the full-period best, chosen in-sample over the same bars</small></h2><div id="wf-curve" class="chart"></div></div>
      <div class="chart-box"><h2>Chosen parameters <small>per window</small></h2><div id="wf-params" class="chart"></div></div>
    </section>`,
};

export function renderPage(page: PageName, title: string, ctx: PageContext, attrs: Record<string, string> = {}): string {
  const data = Object.entries({ page, base: ctx.base, board: ctx.boardPath, readOnly: String(ctx.readOnly), ...attrs })
    .map(([k, v]) => ` data-${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}="${esc(v)}"`)
    .join("");
  const current = page === "run" ? "runs" : page === "walkforward" ? "walkforwards" : page;
  const nav = NAV.map(([p, label, path]) => `<a href="${esc(ctx.base + path)}"${p === current ? ' class="current"' : ""}>${label}</a>`).join("");
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>ta-fleet · ${esc(title)}</title>
<link rel="icon" type="image/svg+xml" href="${esc(ctx.base)}/static/favicon.svg">
<link rel="stylesheet" href="${esc(ctx.base)}/vendor/uplot/uPlot.min.css">
<link rel="stylesheet" href="${esc(ctx.base)}/static/dashboard.css">
<script src="${esc(ctx.base)}/vendor/uplot/uPlot.iife.min.js"></script>
<script type="module" src="${esc(ctx.base)}/static/pages/${page}.js"></script>
</head>
<body${data}>
<header>
  <span class="brand">ta-fleet</span>
  <nav>${nav}<a href="${esc(ctx.boardPath)}">Queues (bull-board)</a></nav>
  <span class="mode ${ctx.readOnly ? "ro" : "rw"}" title="${esc(modeHelp(ctx.readOnly))}">${ctx.readOnly ? "read-only" : "read-write"}</span>
</header>
<main>${BODIES[page](attrs)}
<p id="status" class="status" role="status"></p>
</main>
</body>
</html>
`;
}
