// LLM budgets: today's use of each provider's daily budgets (live quota counters) and the cost ledger by day.
import { lineChart } from "../lib/charts.js";
import { api, bar, fmt, h, load, mount, table } from "../lib/dom.js";

const DAYS = 14;

const used = (n, budget) => (budget ? h("span", {}, bar(n / budget), `${fmt.int(n)} / ${fmt.int(budget)}`) : fmt.int(n));

/** One point per day of the window (missing days cost nothing), one series per provider. */
function costSeries(days, window) {
  const today = Date.parse(`${window.today}T00:00:00Z`) / 1000;
  const t = Array.from({ length: window.days }, (_, i) => today - (window.days - 1 - i) * 86_400);
  const providers = [...new Set(days.map((d) => d.provider))].sort();
  const series = providers.map((p) => ({
    name: p,
    values: t.map((x) => days.find((d) => d.provider === p && Date.parse(`${d.day}T00:00:00Z`) / 1000 === x)?.costUsd ?? 0),
  }));
  return { t: providers.length ? t : [], series };
}

await load(async () => {
  const r = await api(`/llm?days=${DAYS}`);
  document.getElementById("llm-day").textContent = `(${r.today}, ${r.tz}${r.liveUsage ? "" : "; live quota use unavailable"})`;
  mount(
    "budgets",
    table(
      [
        { label: "provider", value: (p) => p.provider },
        { label: "requests today / daily budget", value: (p) => (p.usage ? used(p.usage.dayRequests, p.usage.dayRequestBudget) : "—") },
        { label: "tokens today / daily budget", value: (p) => (p.usage ? used(p.usage.dayTokens, p.usage.dayTokenBudget) : "—") },
        { label: "in flight", num: true, value: (p) => fmt.int(p.usage?.inFlight) },
        { label: "calls (ledger)", num: true, value: (p) => fmt.int(p.ledger?.calls ?? 0) },
        { label: "failed", num: true, value: (p) => fmt.int(p.ledger?.failed ?? 0) },
        { label: "tokens in / out", num: true, value: (p) => `${fmt.int(p.ledger?.inputTokens ?? 0)} / ${fmt.int(p.ledger?.outputTokens ?? 0)}` },
        { label: "cost today", num: true, value: (p) => fmt.usd(p.ledger?.costUsd ?? 0) },
      ],
      r.providers,
      { emptyText: "no LLM provider configured and no call recorded today" },
    ),
  );
  lineChart(document.getElementById("cost-chart"), costSeries(r.days, { today: r.today, days: DAYS }), { yLabel: "USD", format: (v) => fmt.usd(v) });
  mount(
    "ledger",
    table(
      [
        { label: "day", value: (d) => d.day },
        { label: "provider", value: (d) => d.provider },
        { label: "calls", num: true, value: (d) => fmt.int(d.calls) },
        { label: "failed", num: true, value: (d) => fmt.int(d.failed) },
        { label: "input tokens", num: true, value: (d) => fmt.int(d.inputTokens) },
        { label: "output tokens", num: true, value: (d) => fmt.int(d.outputTokens) },
        { label: "cost", num: true, value: (d) => fmt.usd(d.costUsd) },
      ],
      [...r.days].reverse(),
      { emptyText: `no LLM calls in the last ${DAYS} days` },
    ),
  );
});
