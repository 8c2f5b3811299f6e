// Fleet overview: queue depths by state, throughput and p95 run time over time, workers, recent failures.
import { lineChart } from "../lib/charts.js";
import { api, boardJob, boardQueue, fmt, h, load, mount, table } from "../lib/dom.js";

const STATES = ["waiting", "prioritized", "active", "delayed", "waiting-children", "failed", "completed"];
const windowSelect = document.getElementById("window");

const count = (n) => fmt.int(n);
const zero = (n) => (n === 0 ? "zero" : "");

function queues(data) {
  mount(
    "queues",
    table(
      [
        { label: "queue", value: (q) => h("a", { href: boardQueue(q.queue) }, q.queue) },
        ...STATES.map((s) => ({ label: s, num: true, value: (q) => count(q.counts[s]), cls: (q) => zero(q.counts[s]) })),
        { label: "failed (1 h)", num: true, value: (q) => count(q.failedInWindow), cls: (q) => zero(q.failedInWindow) },
        { label: "workers", num: true, value: (q) => count(q.workers.length), cls: (q) => zero(q.workers.length) },
        { label: "", value: (q) => (q.paused ? h("span", { class: "chip failed" }, "paused") : "") },
      ],
      data.queues,
    ),
  );
  const workers = data.queues.flatMap((q) => q.workers.map((w) => ({ queue: q.queue, ...w })));
  mount(
    "workers",
    table(
      [
        { label: "queue", value: (w) => w.queue },
        { label: "connection", value: (w) => h("span", { class: "mono" }, w.name || "(unnamed)") },
        { label: "address", value: (w) => w.addr },
        { label: "connected for", num: true, value: (w) => `${fmt.int(w.ageS)} s` },
        { label: "idle", num: true, value: (w) => `${fmt.int(w.idleS)} s` },
      ],
      workers,
      { emptyText: "no worker is connected to any queue" },
    ),
  );
}

function failures(data) {
  mount(
    "failures",
    table(
      [
        { label: "failed at", value: (f) => fmt.time(f.finishedOn) },
        { label: "queue", value: (f) => f.queue },
        { label: "job", value: (f) => h("a", { href: boardJob(f.queue, f.jobId), class: "mono" }, f.jobId) },
        { label: "attempts", num: true, value: (f) => f.attempts },
        { label: "reason", value: (f) => f.reason, cls: () => "wrap" },
      ],
      data.recent,
      { emptyText: `no job failed in the last ${data.minutes} minutes` },
    ),
  );
}

async function charts() {
  const minutes = Number(windowSelect.value);
  const bucket = Math.max(10, Math.ceil((minutes * 60) / 120 / 10) * 10);
  const s = await api(`/fleet/series?window=${minutes}&bucket=${bucket}`);
  const xRange = [s.from, s.until];
  lineChart(document.getElementById("throughput"), s.throughputPerMin, { yLabel: "jobs / min", format: (v) => fmt.num(v, v < 10 ? 1 : 0), xRange });
  lineChart(document.getElementById("p95"), s.p95RunMs, { yLabel: "run time", format: (v) => fmt.ms(v), xRange });
}

const refresh = () =>
  load(async () => {
    const [q, f] = await Promise.all([api("/fleet/queues"), api("/fleet/failures?minutes=60"), charts()]);
    queues(q);
    failures(f);
  });

windowSelect.addEventListener("change", () => load(charts));
await refresh();
setInterval(refresh, 30_000);
