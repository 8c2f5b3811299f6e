// Fleet overview: queue depths by state, throughput and p95 run time over time, workers, recent failures
// (with a Retry button each unless the dashboard is read-only).
import { lineChart } from "../lib/charts.js";
import { api, boardJob, boardQueue, ctx, fmt, h, load, mount, table } from "../lib/dom.js";

const STATES = ["waiting", "prioritized", "active", "delayed", "waiting-children", "failed", "completed"];
const windowSelect = document.getElementById("window");
const writable = ctx.readOnly === "false";

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
  // Grouped by host, then process: where each worker runs (its BullMQ name is <host>:<pid>:<role>).
  const workers = data.queues
    .flatMap((q) => q.workers.map((w) => ({ queue: q.queue, ...w })))
    .sort((a, b) => a.host.localeCompare(b.host) || (a.pid ?? 0) - (b.pid ?? 0) || a.queue.localeCompare(b.queue));
  const hosts = [...new Set(workers.map((w) => w.host))];
  const columns = [
    { label: "pid", num: true, value: (w) => w.pid ?? "—" },
    { label: "role", value: (w) => w.role },
    { label: "queue", value: (w) => w.queue },
    { label: "address", value: (w) => w.addr },
    { label: "connected for", num: true, value: (w) => `${fmt.int(w.ageS)} s` },
    { label: "idle", num: true, value: (w) => `${fmt.int(w.idleS)} s` },
  ];
  if (!hosts.length) {
    mount("workers", table(columns, [], { emptyText: "no worker is connected to any queue" }));
    return;
  }
  mount(
    "workers",
    ...hosts.flatMap((host) => {
      const mine = workers.filter((w) => w.host === host);
      const pids = new Set(mine.map((w) => w.pid)).size;
      return [h("h3", { class: "mono", "data-host": host }, `${host} · ${pids} process${pids === 1 ? "" : "es"}`), table(columns, mine, { rowAttrs: (w) => ({ "data-worker": `${w.host}:${w.pid}` }) })];
    }),
  );
}

async function retry(f, button) {
  button.disabled = true;
  try {
    const r = await api(`/jobs/${encodeURIComponent(f.queue)}/${encodeURIComponent(f.jobId)}/retry`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    await refresh();
    document.getElementById("status").textContent = `retried ${f.queue} job ${f.jobId}: now ${r.state}`;
  } catch (err) {
    button.disabled = false;
    button.title = err.message;
    document.getElementById("status").textContent = `could not retry ${f.queue} job ${f.jobId}: ${err.message}`;
  }
}

function retryButton(f) {
  const button = h("button", { type: "button", "data-retry": `${f.queue}/${f.jobId}`, title: "move the job back to waiting (its attempts so far still count)" }, "Retry");
  button.addEventListener("click", () => retry(f, button));
  return button;
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
        ...(writable ? [{ label: "", value: retryButton }] : []),
      ],
      data.recent,
      { emptyText: `no job failed in the last ${data.minutes} minutes`, rowAttrs: (f) => ({ "data-job": `${f.queue}/${f.jobId}` }) },
    ),
  );
}

async function charts() {
  const minutes = Number(windowSelect.value);
  const bucket = Math.max(10, Math.ceil((minutes * 60) / 120 / 10) * 10);
  const s = await api(`/fleet/series?window=${minutes}&bucket=${bucket}`);
  const span = { timeSpan: [s.from, s.until], bucket: s.bucket };
  lineChart(document.getElementById("throughput"), s.throughputPerMin, { yLabel: "jobs / min", format: (v) => fmt.num(v, v < 10 ? 1 : 0), ...span });
  lineChart(document.getElementById("p95"), s.p95RunMs, { yLabel: "run time", format: (v) => fmt.ms(v), ...span });
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
