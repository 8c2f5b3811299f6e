// One daily-refresh run: its summary per asset, its research brief, the trace waterfall of all its jobs, and its workflow events.
import { api, boardJob, chip, ctx, fmt, h, load, mount, table } from "../lib/dom.js";

const kv = (pairs) => h("dl", { class: "kv" }, pairs.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));

function head(run) {
  const j = run.job;
  const status = j?.summary?.status ?? run.workflow?.status ?? j?.state;
  mount(
    "run-head",
    kv([
      ["status", chip(status, status)],
      ["as of", j?.asOf ?? "—"],
      ["root job", j ? h("a", { href: boardJob("flow", j.jobId), class: "mono" }, `flow/${j.jobId} (${j.state})`) : "removed from Redis"],
      ["enqueued", fmt.time(j?.createdAt ?? run.workflow?.createdAt)],
      ["finished", fmt.time(j?.finishedAt)],
      ["took", j?.finishedAt ? fmt.ms(j.finishedAt - j.createdAt) : "—"],
      ["trace", run.traceId ? h("span", { class: "mono" }, run.traceId) : "no spans recorded for this run"],
      ...(j?.failedReason ? [["failure", j.failedReason]] : []),
    ]),
  );
}

/** As strategyLabel (queues/kinds/flow.ts): "ema_9_21 (#1)", or "#1" for a summary without names. */
const strategyLabel = (signalId, name) => (name ? `${name} (#${signalId})` : `#${signalId}`);

/** The root cause first (the job that broke), what the failing step reported on hover when it differs. */
function cause(x) {
  if (!x.cause) return x.reason ?? "";
  return h("span", { title: x.reason && x.reason !== x.cause.reason ? `reported as: ${x.reason}` : null }, x.cause.reason);
}

const causeJob = (x) => (x.cause ? h("a", { href: boardJob(x.cause.queue, x.cause.jobId), class: "mono" }, `${x.cause.queue}/${x.cause.jobId}`) : "");

function strategyChip(s) {
  const text = `${strategyLabel(s.signalId, s.name)}: ${s.status}${s.sharpe !== undefined && s.sharpe !== null ? `, ${fmt.num(s.sharpe)}` : ""}`;
  const el = chip(s.status, text);
  if (s.status === "failed") el.title = s.cause ? `${s.cause.reason} (job ${s.cause.queue}/${s.cause.jobId})` : (s.reason ?? "");
  return el;
}

function assets(run) {
  const rows = run.job?.summary?.assets ?? Object.entries(run.workflow?.metadata?.assets ?? {}).map(([asset, status]) => ({ asset, status }));
  mount(
    "assets",
    table(
      [
        { label: "asset", value: (a) => a.asset },
        { label: "status", value: (a) => chip(a.status) },
        { label: "failed at", value: (a) => a.failedAt ?? "" },
        { label: "cause", value: cause, cls: () => "wrap" },
        { label: "failed job", value: causeJob },
        { label: "quality", value: (a) => (a.quality ? `${fmt.num(a.quality.score, 1)} (${a.quality.status})` : "—") },
        { label: "strategies (status, Sharpe)", value: (a) => (a.strategies ?? []).map(strategyChip), cls: () => "wrap" },
      ],
      rows,
      { emptyText: "no summary yet (the run has not finished)" },
    ),
  );
}

function waterfall(tr, names) {
  const total = Math.max(tr.totalMs, 1e-6);
  const pct = (ms) => `${((ms / total) * 100).toFixed(3)}%`;
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => h("span", {}, fmt.ms(total * f)));
  const errors = tr.rows.filter((r) => r.status === "ERROR").length;
  mount(
    "waterfall",
    h(
      "div",
      { class: "wf", "data-spans": tr.rows.length },
      h("div", { class: "wf-head" }, h("div", { class: "wf-name" }, `${tr.rows.length} spans · ${fmt.ms(tr.totalMs)} · ${errors} with errors${tr.truncated ? " · truncated" : ""}`), h("div", { class: "wf-ticks" }, ticks), h("div", { class: "wf-dur" }, "duration")),
      tr.rows.map((r) =>
        h(
          "div",
          { class: `wf-row${r.status === "ERROR" ? " error" : ""}`, "data-span-id": r.spanId, "data-parent-id": r.parentSpanId ?? "", "data-depth": r.depth, title: attrsText(r) },
          h("div", { class: "wf-name", style: { paddingLeft: `${0.6 + r.depth * 1.1}rem` } }, r.name, h("span", { class: "svc" }, detail(r, names))),
          h("div", { class: "wf-track" }, h("div", { class: "wf-bar", style: { left: pct(r.offsetMs), width: pct(r.durationMs) } })),
          h("div", { class: "wf-dur" }, fmt.ms(r.durationMs)),
          r.status === "ERROR" ? h("div", { class: "wf-msg" }, [r.statusMessage, ...r.errors].filter(Boolean).filter((m, i, a) => a.indexOf(m) === i).join(" · ")) : null,
        ),
      ),
    ),
  );
}

/** What tells sibling spans apart (which strategy, which asset) and where it ran; `names`: signal id → name. */
const detail = (r, names) => {
  const a = r.attributes ?? {};
  const id = a["signal.id"];
  return [id !== undefined ? strategyLabel(id, names.get(Number(id))) : null, a.asset, r.service].filter(Boolean).join(" · ");
};

/** Strategy names from the run's summary (spans carry the signal id only). */
const strategyNames = (run) => new Map((run.job?.summary?.assets ?? []).flatMap((a) => (a.strategies ?? []).filter((s) => s.name).map((s) => [s.signalId, s.name])));

const attrsText = (r) => Object.entries(r.attributes ?? {}).map(([k, v]) => `${k} = ${v}`).join("\n");

/** The run's research brief (research_briefs): its answer, the LLM task it was, and its Telegram delivery. */
function brief(run) {
  const b = run.brief;
  if (!b) return mount("brief", h("p", { class: "empty" }, "no research brief for this run (RESEARCH_BRIEF=off, no LLM provider configured, or not written yet)"));
  mount(
    "brief",
    kv([
      ["status", chip(b.status, b.status)],
      ["LLM task", h("span", { class: "mono", "data-task-id": b.taskId }, b.taskId)],
      ["model", b.provider ? `${b.provider} · ${b.model ?? ""}` : "—"],
      ["written", fmt.time(b.completedAt)],
      ["Telegram", `${b.deliveryStatus}${b.parts ? ` · ${b.parts} part(s)` : ""}${b.deliveryError ? ` · ${b.deliveryError}` : ""}`],
      ...(b.error ? [["error", b.error]] : []),
    ]),
    b.output ? h("div", { class: "lines", id: "brief-text" }, b.output) : h("p", { class: "empty" }, "no answer yet"),
  );
}

function events(run) {
  mount(
    "events",
    table(
      [
        { label: "at", value: (e) => fmt.time(e.at) },
        { label: "phase", value: (e) => e.phase },
        { label: "event", value: (e) => chip(e.status) },
        { label: "job", value: (e) => h("span", { class: "mono" }, e.metadata?.jobId ?? "") },
      ],
      run.workflow?.events ?? [],
      { emptyText: "no workflow events recorded" },
    ),
  );
}

await load(async () => {
  const run = await api(`/runs/${encodeURIComponent(ctx.runId)}`);
  head(run);
  assets(run);
  brief(run);
  events(run);
  if (run.traceId) waterfall(await api(`/traces/${run.traceId}`), strategyNames(run));
  else mount("waterfall", h("p", { class: "empty" }, "no trace recorded for this run (telemetry off, or spans not exported yet)"));
});
