// Recent daily-refresh runs: state, per-asset status, timing; each links to its run page.
import { api, chip, ctx, fmt, h, load, mount, table } from "../lib/dom.js";

const assetChips = (r) => {
  const assets = r.job?.summary?.assets?.map((a) => [a.asset, a.status]) ?? Object.entries(r.workflow?.metadata?.assets ?? {});
  if (assets.length && typeof assets[0][1] === "string") return assets.map(([a, s]) => chip(s, `${a}: ${s}`));
  return (r.job?.assets ?? []).map((a) => chip("", a));
};

const duration = (r) => (r.job?.startedAt && r.job?.finishedAt ? fmt.ms(r.job.finishedAt - r.job.createdAt) : "—");

await load(async () => {
  const { runs } = await api("/runs?limit=50");
  mount(
    "runs",
    table(
      [
        { label: "run", value: (r) => h("a", { href: `${ctx.base}/runs/${encodeURIComponent(r.runId)}`, class: "mono" }, r.runId) },
        { label: "as of", value: (r) => r.job?.asOf ?? "—" },
        { label: "status", value: (r) => chip(r.job?.summary?.status ?? r.workflow?.status ?? r.job?.state, r.job?.summary?.status ?? r.workflow?.status ?? r.job?.state) },
        { label: "job state", value: (r) => r.job?.state ?? "(removed from Redis)" },
        { label: "assets", value: assetChips, cls: () => "wrap" },
        { label: "started", value: (r) => fmt.time(r.job?.createdAt ?? r.workflow?.createdAt) },
        { label: "took", num: true, value: duration },
        { label: "phase", value: (r) => r.workflow?.phase ?? "—" },
      ],
      runs,
      { emptyText: "no daily-refresh run yet" },
    ),
  );
});
