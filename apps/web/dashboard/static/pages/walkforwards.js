// Walk-forwards: every stored walk-forward per asset, the latest first, with its stitched OOS headline, WFE and
// the full-period best; each links to its page. ?symbol=<asset> shows one asset's.
import { api, ctx, fmt, h, load, mount, table } from "../lib/dom.js";

const symbol = new URLSearchParams(location.search).get("symbol");
const grid = (g) => `${g?.fast?.join(":")} × ${g?.slow?.join(":")}`;

await load(async () => {
  const { walkForwards } = await api(`/walk-forwards?limit=200${symbol ? `&symbol=${encodeURIComponent(symbol)}` : ""}`);
  mount(
    "walk-forwards",
    table(
      [
        // The id's hash is enough to tell them apart next to the asset and strategy; the full id on hover.
        { label: "walk-forward", value: (w) => h("a", { href: `${ctx.base}/walk-forwards/${encodeURIComponent(w.walkForwardId)}`, class: "mono", title: w.walkForwardId }, w.walkForwardId.slice(w.walkForwardId.lastIndexOf("-wf-") + 1)) },
        { label: "asset", value: (w) => h("a", { href: `?symbol=${encodeURIComponent(w.symbol)}` }, w.symbol) },
        { label: "strategy · fast × slow", value: (w) => h("span", { class: "mono" }, `${w.strategy} · ${grid(w.grid)}`) },
        { label: "train / test", num: true, value: (w) => `${fmt.int(w.train)} / ${fmt.int(w.test)}` },
        { label: "windows", num: true, value: (w) => fmt.int(w.windows) },
        { label: "OOS period", value: (w) => `${w.oosStart} → ${w.oosEnd}` },
        { label: "OOS return", num: true, value: (w) => fmt.pct(w.totalReturn) },
        { label: "OOS Sharpe", num: true, value: (w) => fmt.num(w.sharpe) },
        { label: "max DD", num: true, value: (w) => fmt.pct(w.maxDrawdown) },
        { label: "WFE", num: true, value: (w) => fmt.num(w.wfe) },
        {
          label: "full-period best",
          value: (w) => (w.bestFast === null ? "—" : h("span", { title: `hindsight: Sharpe ${fmt.num(w.bestSharpe)}, return ${fmt.pct(w.bestTotalReturn)} over the OOS period` }, `${w.bestFast}/${w.bestSlow} → ${fmt.num(w.bestSharpe)}`)),
        },
        { label: "completed", value: (w) => fmt.time(w.completedAt) },
      ],
      walkForwards,
      { emptyText: symbol ? `no walk-forward stored for ${symbol}` : "no walk-forward stored yet (npm run enqueue -- walk-forward …)", rowAttrs: (w) => ({ "data-walk-forward-id": w.walkForwardId }) },
    ),
  );
});
