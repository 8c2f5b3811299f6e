// Small DOM and formatting helpers shared by the dashboard pages. Text always goes in as text nodes,
// never as HTML, so nothing read from the API can inject markup.
export const ctx = document.body.dataset;

export class ApiError extends Error {}

export async function api(path, init = {}) {
  const res = await fetch(`${ctx.base}/api${path}`, { ...init, headers: { accept: "application/json", ...(init.headers ?? {}) } });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new ApiError(body.error ?? `HTTP ${res.status}`);
  return body;
}

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") el.className = v;
    else if (k === "style") Object.assign(el.style, v);
    else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export function mount(id, ...children) {
  const el = document.getElementById(id);
  el.replaceChildren();
  append(el, children);
  return el;
}

export const empty = (text) => h("p", { class: "empty" }, text);

/** columns: [{ label, value(row) → node | text, num?, cls?(row) }]; rowAttrs(row) → attributes of the <tr>. */
export function table(columns, rows, { emptyText = "nothing to show", rowAttrs } = {}) {
  if (!rows.length) return empty(emptyText);
  return h(
    "table",
    {},
    h("thead", {}, h("tr", {}, columns.map((c) => h("th", { class: c.num ? "num" : null }, c.label)))),
    h(
      "tbody",
      {},
      rows.map((r) =>
        h("tr", rowAttrs?.(r) ?? {}, columns.map((c) => h("td", { class: [c.num ? "num" : "", c.cls?.(r) ?? ""].join(" ").trim() || null }, c.value(r)))),
      ),
    ),
  );
}

export const chip = (status, text = status) => h("span", { class: `chip ${status ?? ""}` }, text ?? "—");

const isNum = (x) => typeof x === "number" && Number.isFinite(x);

export const fmt = {
  num: (x, d = 2) => (isNum(x) ? x.toLocaleString("en-US", { minimumFractionDigits: d, maximumFractionDigits: d }) : "—"),
  int: (x) => (isNum(x) ? Math.round(x).toLocaleString("en-US") : "—"),
  pct: (fraction, d = 1) => (isNum(fraction) ? `${(fraction * 100).toFixed(d)} %` : "—"),
  usd: (x) => (isNum(x) ? `$${x.toFixed(x !== 0 && Math.abs(x) < 0.01 ? 4 : 2)}` : "—"),
  ms(ms) {
    if (!isNum(ms)) return "—";
    if (ms === 0) return "0 ms";
    if (ms < 1) return `${ms.toFixed(2)} ms`;
    if (ms < 1000) return `${Math.round(ms)} ms`;
    if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
    return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
  },
  time(t) {
    if (t === null || t === undefined) return "—";
    const d = new Date(t);
    if (Number.isNaN(d.getTime())) return "—";
    const p = (n) => String(n).padStart(2, "0");
    return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
  },
};

/** A usage bar: fraction of a budget, coloured from 80 % up. */
export function bar(fraction) {
  const f = isNum(fraction) ? Math.max(0, Math.min(1, fraction)) : 0;
  return h("span", { class: `bar${f >= 0.9 ? " hot" : f >= 0.8 ? " warm" : ""}` }, h("span", { style: { width: `${(f * 100).toFixed(1)}%` } }));
}

export const boardQueue = (queue) => `${ctx.board}/queue/${encodeURIComponent(queue)}`;
export const boardJob = (queue, id) => `${boardQueue(queue)}/${encodeURIComponent(id)}`;

/** Runs a page's loader: errors go to the status line; body[data-ready] tells tests (and people) it is done. */
export async function load(fn) {
  const status = document.getElementById("status");
  delete document.body.dataset.ready;
  try {
    await fn();
    status.textContent = `updated ${fmt.time(Date.now())}`;
    status.className = "status";
    document.body.dataset.ready = "ok";
  } catch (err) {
    status.textContent = `could not load: ${err.message}`;
    status.className = "status error";
    document.body.dataset.ready = "error";
  }
}
