// One walk-forward: its headline (stitched OOS metrics, WFE, the full-period best), the windows (train and test
// ranges, the parameters chosen on each train range, IS and OOS Sharpe, OOS return, trades, open at the end), the
// chosen parameters per window, and the stitched OOS equity against the full-period best's in-sample curve.
import { curvesChart, stepChart } from "../lib/charts.js";
import { api, ctx, fmt, h, load, mount, table } from "../lib/dom.js";

const kv = (pairs) => h("dl", { class: "kv" }, pairs.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));

function head(w) {
  mount(
    "wf-head",
    kv([
      ["asset", h("a", { href: `${ctx.base}/walk-forwards?symbol=${encodeURIComponent(w.symbol)}` }, w.symbol)],
      ["strategy", `${w.strategy} · fast ${w.grid?.fast?.join(":")} · slow ${w.grid?.slow?.join(":")} · fee ${w.feeBps} bps`],
      ["windows", `${w.windows} (train ${fmt.int(w.train)} bars, test ${fmt.int(w.test)} bars)`],
      ["stitched OOS", `${w.oosStart} → ${w.oosEnd}: return ${fmt.pct(w.totalReturn)}, CAGR ${fmt.pct(w.cagr)}, Sharpe ${fmt.num(w.sharpe)}, max DD ${fmt.pct(w.maxDrawdown)}, ${fmt.int(w.trades)} trades`],
      ["WFE", `${fmt.num(w.wfe)} (mean OOS Sharpe ${fmt.num(w.meanOosSharpe)} / mean IS Sharpe ${fmt.num(w.meanIsSharpe)})`],
      [
        "full-period best",
        w.bestFast === null
          ? "not stored (recorded before migration 035; re-run the walk-forward's root job)"
          : `${w.bestFast}/${w.bestSlow}: Sharpe ${fmt.num(w.bestSharpe)}, return ${fmt.pct(w.bestTotalReturn)} — chosen with hindsight on the stitched curve's bars`,
      ],
      ["completed", fmt.time(w.completedAt)],
    ]),
  );
}

function windows(rows) {
  mount(
    "wf-windows",
    table(
      [
        { label: "k", num: true, value: (r) => r.k },
        { label: "train", value: (r) => `${r.trainStartDate} → ${r.trainEndDate}` },
        { label: "test", value: (r) => `${r.testStartDate} → ${r.testEndDate}` },
        { label: "fast", num: true, value: (r) => r.fast },
        { label: "slow", num: true, value: (r) => r.slow },
        { label: "IS Sharpe", num: true, value: (r) => fmt.num(r.isSharpe) },
        { label: "OOS Sharpe", num: true, value: (r) => fmt.num(r.oosSharpe) },
        { label: "OOS return", num: true, value: (r) => fmt.pct(r.oosTotalReturn) },
        { label: "trades", num: true, value: (r) => fmt.int(r.oosTrades) },
        { label: "open at end", value: (r) => (r.openAtEnd ? "yes" : "no") },
      ],
      rows,
      { emptyText: "no window stored", rowAttrs: (r) => ({ "data-k": r.k }) },
    ),
  );
}

await load(async () => {
  const w = await api(`/walk-forwards/${encodeURIComponent(ctx.walkForwardId)}`);
  head(w);
  windows(w.windowRows);
  curvesChart(document.getElementById("wf-curve"), w.curve);
  stepChart(
    document.getElementById("wf-params"),
    w.windowRows.map((r) => r.k),
    [
      { name: "fast", values: w.windowRows.map((r) => r.fast) },
      { name: "slow", values: w.windowRows.map((r) => r.slow) },
    ],
    { xLabel: "window k", yLabel: "EMA period" },
  );
});
