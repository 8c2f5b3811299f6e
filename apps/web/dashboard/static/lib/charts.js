// Charts: uPlot (served from node_modules, global `uPlot`) for time series and the equity curve, a plain
// canvas for the sweep heatmap.
import { empty, h } from "./dom.js";

const PALETTE = ["#2563eb", "#16a34a", "#dc2626", "#9333ea", "#ea580c", "#0891b2", "#ca8a04", "#db2777"];
const HEIGHT = 260;

const widthOf = (el) => Math.max(320, el.clientWidth - 12);

// The chart drawn in each container, so a redraw (page refresh, other window) replaces it instead of piling up.
const placed = new WeakMap();

function release(el) {
  const old = placed.get(el);
  old?.observer.disconnect();
  old?.chart.destroy();
  placed.delete(el);
}

function place(el, opts, data) {
  release(el);
  el.replaceChildren();
  const chart = new uPlot({ width: widthOf(el), height: HEIGHT, ...opts }, data, el);
  const observer = new ResizeObserver(() => chart.setSize({ width: widthOf(el), height: HEIGHT }));
  observer.observe(el);
  placed.set(el, { chart, observer });
  return chart;
}

function clear(el, text) {
  release(el);
  el.replaceChildren(empty(text));
}

// uPlot hands an axis's values callback null for a tick it filtered out (no room, or outside the scale): an
// empty label, never a call on null (which throws inside uPlot's draw and leaves the chart blank).
const tickLabels = (format) => (_u, vals) => vals.map((v) => (v === null || v === undefined ? "" : format(v)));
const equityTick = (v) => v.toLocaleString("en-US", { maximumSignificantDigits: 3 });

/**
 * aligned = { t: [epoch s], series: [{ name, values }] }. timeSpan = [from, to] (epoch s), the span asked for,
 * with bucket its bucket width (s): the x axis starts a bucket before the first point when the data starts
 * later than `from` (a short history would otherwise be squashed against the right edge) and always ends at
 * `to`, so a fleet that stopped shows as empty time up to now rather than as a chart that looks current.
 */
export function lineChart(el, aligned, { yLabel = "", format = (v) => v, timeSpan, bucket = 0 } = {}) {
  if (!aligned.t.length) return void clear(el, "no data in this window");
  const xRange = timeSpan && [Math.max(timeSpan[0], aligned.t[0] - bucket), timeSpan[1]];
  return place(
    el,
    {
      series: [{}, ...aligned.series.map((s, i) => ({ label: s.name, stroke: PALETTE[i % PALETTE.length], width: 2, points: { show: aligned.t.length < 60 }, spanGaps: false, value: (_u, v) => (v === null ? "—" : format(v)) }))],
      axes: [{}, { label: yLabel, size: 60, values: tickLabels(format) }],
      // From zero; an all-zero series gets a unit axis instead of a degenerate one.
      scales: { ...(xRange ? { x: { time: true, range: () => xRange } } : {}), y: { range: (_u, min, max) => [Math.min(0, min ?? 0), max > 0 ? max * 1.1 : 1] } },
    },
    [aligned.t, ...aligned.series.map((s) => s.values)],
  );
}

// The equity chart's layout, as fractions of the plot's height: the drawdown hangs from its zero line in the
// bottom band, the equity curve fills the space above it, with a margin at the top.
const DD_BAND = 0.25;
const EQ_GAP = 0.05;
// A log axis only pays when the curve spans more than an order of magnitude; below that it wastes the plot.
const LOG_SPAN = 10;

/** [lo, hi] that puts [min, max] between the drawdown band (plus a gap) and a gap below the top. */
function aboveBand(min, max) {
  const span = max - min || Math.abs(max) * 0.02 || 1;
  const total = span / (1 - DD_BAND - 2 * EQ_GAP);
  const hi = max + EQ_GAP * total;
  return [hi - total, hi];
}

/** The smallest of 1, 2, 5 × 10^k that is at least x. */
function niceStep(x) {
  const p = 10 ** Math.floor(Math.log10(x));
  return [1, 2, 5, 10].map((m) => m * p).find((s) => s >= x * (1 - 1e-9));
}

/** Multiples of a nice step in [lo, hi], about `n` of them. */
function linearTicks(lo, hi, n) {
  const step = niceStep((hi - lo) / n);
  const ticks = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

/** 1, 2, 5 × 10^k in [lo, hi]; powers of ten only when that would crowd the axis. */
function logTicks(lo, hi) {
  const k0 = Math.floor(Math.log10(lo)), k1 = Math.ceil(Math.log10(hi));
  const mults = k1 - k0 > 3 ? [1] : [1, 2, 5];
  const ticks = [];
  for (let k = k0; k <= k1; k++) for (const m of mults) ticks.push(Number((m * 10 ** k).toPrecision(12)));
  return ticks.filter((v) => v >= lo && v <= hi);
}

/**
 * curve = { t: [epoch s], equity: [...], drawdown: [fraction] }: the equity curve on the left axis, fitted
 * to its own min and max (log only when max / min > LOG_SPAN), and the drawdown (%) as a light secondary
 * series in a band at the bottom with its own short axis on the right.
 */
export function equityChart(el, curve) {
  if (!curve.t.length) return void clear(el, "no equity curve stored for this run");
  const eqMin = Math.min(...curve.equity), eqMax = Math.max(...curve.equity);
  const log = eqMin > 0 && eqMax / eqMin > LOG_SPAN;
  const eqRange = log ? aboveBand(Math.log10(eqMin), Math.log10(eqMax)).map((x) => 10 ** x) : aboveBand(eqMin, eqMax);
  // Equity ticks start at the top of the drawdown band, where the drawdown's own ticks end.
  const bandTop = log ? 10 ** (Math.log10(eqRange[0]) + DD_BAND * Math.log10(eqRange[1] / eqRange[0])) : eqRange[0] + DD_BAND * (eqRange[1] - eqRange[0]);
  const eqTicks = log ? logTicks(bandTop, eqRange[1]) : linearTicks(bandTop, eqRange[1], 4);
  const dd = curve.drawdown.map((d) => -d * 100);
  // Zero at the top of the band: [lo, −lo·(1 − band)/band] keeps the drawdown (≤ 0) inside the band.
  const ddLo = Math.min(...dd, -1) * 1.05;
  const ddRange = [ddLo, (-ddLo * (1 - DD_BAND)) / DD_BAND];
  const ddTicks = linearTicks(ddLo, 0, 2);
  return place(
    el,
    {
      series: [
        {},
        { label: "equity", scale: "eq", stroke: "#2563eb", width: 2, value: (_u, v) => (v === null ? "—" : v.toFixed(3)) },
        { label: "drawdown %", scale: "dd", stroke: "rgba(220, 38, 38, 0.55)", width: 1, fill: "rgba(220, 38, 38, 0.07)", value: (_u, v) => (v === null ? "—" : `${v.toFixed(1)} %`) },
      ],
      axes: [
        {},
        { scale: "eq", label: log ? "equity (log)" : "equity", size: 60, splits: () => eqTicks, values: tickLabels(equityTick) },
        { scale: "dd", side: 1, label: "drawdown %", size: 60, grid: { show: false }, stroke: "#b91c1c", splits: () => ddTicks, values: tickLabels(String) },
      ],
      scales: { eq: { distr: log ? 3 : 1, range: () => eqRange }, dd: { range: () => ddRange } },
    },
    [curve.t, curve.equity, dd],
  );
}

/** The uPlot chart drawn in a container (the browser tests read its scales). */
export const chartIn = (el) => placed.get(el)?.chart;

const GREEN = [21, 128, 61], RED = [185, 28, 28];
const mix = (rgb, f) => `rgb(${rgb.map((c) => Math.round(255 + (c - 255) * Math.max(0, Math.min(1, f)))).join(", ")})`;

/**
 * Sharpe → colour. Mixed signs: diverging around zero (green up, red down, by magnitude). One sign only:
 * sequential from the weakest to the strongest value, so the grid's differences stay visible.
 */
function colorScale(values) {
  const lo = Math.min(...values), hi = Math.max(...values);
  if (lo < 0 && hi > 0) {
    const m = Math.max(-lo, hi);
    return { color: (v) => (v >= 0 ? mix(GREEN, v / m) : mix(RED, -v / m)), top: hi, bottom: lo, stops: [mix(GREEN, hi / m), "#fff", mix(RED, -lo / m)] };
  }
  const span = hi - lo || 1;
  const hue = hi > 0 ? GREEN : RED;
  // Sequential: the strongest end is the far end from zero.
  const f = (v) => 0.15 + 0.85 * (hi > 0 ? (v - lo) / span : (hi - v) / span);
  return { color: (v) => mix(hue, f(v)), top: hi, bottom: lo, stops: [mix(hue, f(hi)), mix(hue, f(lo))] };
}

/** grid = { fast: [], slow: [], sharpe: [slow][fast] }; calls onHover(cell | null) as the pointer moves. */
export function heatmap(canvas, legend, grid, onHover) {
  const dpr = window.devicePixelRatio || 1;
  const W = canvas.clientWidth, H = canvas.clientHeight;
  canvas.width = W * dpr;
  canvas.height = H * dpr;
  const g = canvas.getContext("2d");
  g.scale(dpr, dpr);
  const m = { l: 56, r: 10, t: 10, b: 44 };
  const cw = (W - m.l - m.r) / grid.fast.length, ch = (H - m.t - m.b) / grid.slow.length;
  const values = grid.sharpe.flat().filter((v) => v !== null);
  const scale = colorScale(values.length ? values : [0]);
  let best = null;
  g.clearRect(0, 0, W, H);
  grid.slow.forEach((_s, i) =>
    grid.fast.forEach((_f, j) => {
      const v = grid.sharpe[i][j];
      const x = m.l + j * cw, y = H - m.b - (i + 1) * ch;
      g.fillStyle = v === null ? "#e5e7eb" : scale.color(v);
      g.fillRect(x, y, Math.ceil(cw), Math.ceil(ch));
      if (v !== null && (!best || v > best.v)) best = { v, x, y };
    }),
  );
  if (best) {
    g.strokeStyle = "#111827";
    g.lineWidth = 2;
    g.strokeRect(best.x + 1, best.y + 1, cw - 2, ch - 2);
  }
  g.fillStyle = "#374151";
  g.font = "11px system-ui, sans-serif";
  const step = (px) => Math.max(1, Math.ceil(28 / px)); // a label every ≥ 28 px
  g.textAlign = "center";
  grid.fast.forEach((f, j) => j % step(cw) === 0 && g.fillText(String(f), m.l + (j + 0.5) * cw, H - m.b + 14));
  g.textAlign = "right";
  grid.slow.forEach((s, i) => i % step(ch * 2) === 0 && g.fillText(String(s), m.l - 6, H - m.b - (i + 0.5) * ch + 4));
  g.textAlign = "center";
  g.fillText("fast EMA", m.l + (W - m.l - m.r) / 2, H - 8);
  g.save();
  g.translate(14, m.t + (H - m.t - m.b) / 2);
  g.rotate(-Math.PI / 2);
  g.fillText("slow EMA", 0, 0);
  g.restore();
  legend.replaceChildren(
    h("div", {}, scale.top.toFixed(2)),
    h("div", { class: "scale", style: { background: `linear-gradient(${scale.stops.join(", ")})` } }),
    h("div", {}, scale.bottom.toFixed(2)),
    h("div", {}, "Sharpe; grey: not evaluated"),
    h("div", {}, "outlined: best"),
  );
  canvas.onmousemove = (e) => {
    const r = canvas.getBoundingClientRect();
    const j = Math.floor((e.clientX - r.left - m.l) / cw), i = Math.floor((H - m.b - (e.clientY - r.top)) / ch);
    const inside = j >= 0 && j < grid.fast.length && i >= 0 && i < grid.slow.length;
    onHover(inside ? { fast: grid.fast[j], slow: grid.slow[i], sharpe: grid.sharpe[i][j] } : null);
  };
  canvas.onmouseleave = () => onHover(null);
}

/** Axes box of a small canvas chart: scales x/y data ranges into the plot area, labels both axes. */
function canvasAxes(canvas, [x0, x1], [y0, y1], xLabel, yLabel, yDigits = 2) {
  const dpr = window.devicePixelRatio || 1;
  const W = canvas.clientWidth, H = canvas.clientHeight;
  canvas.width = W * dpr;
  canvas.height = H * dpr;
  const g = canvas.getContext("2d");
  g.scale(dpr, dpr);
  const m = { l: 52, r: 10, t: 10, b: 36 };
  const sx = (v) => m.l + ((v - x0) / (x1 - x0 || 1)) * (W - m.l - m.r);
  const sy = (v) => H - m.b - ((v - y0) / (y1 - y0 || 1)) * (H - m.t - m.b);
  g.strokeStyle = "#9ca3af";
  g.strokeRect(m.l, m.t, W - m.l - m.r, H - m.t - m.b);
  g.fillStyle = "#374151";
  g.font = "11px system-ui, sans-serif";
  g.textAlign = "center";
  g.fillText(x0.toFixed(2), m.l, H - m.b + 14);
  g.fillText(x1.toFixed(2), W - m.r, H - m.b + 14);
  g.fillText(xLabel, m.l + (W - m.l - m.r) / 2, H - 6);
  g.textAlign = "right";
  g.fillText(y1.toFixed(yDigits), m.l - 4, m.t + 10);
  g.fillText(y0.toFixed(yDigits), m.l - 4, H - m.b);
  g.save();
  g.translate(12, m.t + (H - m.t - m.b) / 2);
  g.rotate(-Math.PI / 2);
  g.textAlign = "center";
  g.fillText(yLabel, 0, 0);
  g.restore();
  return { g, sx, sy };
}

/** Bars of a histogram: edges (bins + 1) and counts; bins left of `mark` (e.g. λ ≤ 0) in the warning colour. */
export function histogramChart(canvas, edges, counts, { xLabel = "", mark = -Infinity } = {}) {
  const { g, sx, sy } = canvasAxes(canvas, [edges[0], edges.at(-1)], [0, Math.max(1, ...counts)], xLabel, "splits", 0);
  counts.forEach((c, i) => {
    g.fillStyle = edges[i + 1] <= mark ? "#d97706" : "#2563eb";
    const x = sx(edges[i]), w = Math.max(1, sx(edges[i + 1]) - x - 1);
    g.fillRect(x, sy(c), w, sy(0) - sy(c));
  });
}

/** Points (x[i], y[i]) with the line y = intercept + slope·x. */
export function scatterChart(canvas, x, y, { slope, intercept, xLabel = "", yLabel = "" }) {
  const lo = (a) => Math.min(...a), hi = (a) => Math.max(...a);
  // The fitted line's ends are in the y range too, or a steep line is drawn past the plot.
  const ends = [intercept + slope * lo(x), intercept + slope * hi(x)];
  const { g, sx, sy } = canvasAxes(canvas, [lo(x), hi(x)], [lo([...y, ...ends]), hi([...y, ...ends])], xLabel, yLabel);
  g.fillStyle = "rgba(37, 99, 235, 0.35)";
  for (let i = 0; i < x.length; i++) g.fillRect(sx(x[i]) - 1.5, sy(y[i]) - 1.5, 3, 3);
  g.strokeStyle = "#111827";
  g.beginPath();
  g.moveTo(sx(lo(x)), sy(ends[0]));
  g.lineTo(sx(hi(x)), sy(ends[1]));
  g.stroke();
}

/**
 * Equity curves on one date axis: aligned = { t: [epoch s], series: [{ name, values (null: no point) }] }. The
 * axis is fitted to the curves (log only beyond a factor of LOG_SPAN); a series bridges its own gaps (the
 * walk-forward's stitched curve has no point on the later windows' first bars).
 */
export function curvesChart(el, aligned) {
  if (!aligned.t.length) return void clear(el, "no curve stored");
  const all = aligned.series.flatMap((s) => s.values.filter((v) => v !== null && Number.isFinite(v)));
  const lo = Math.min(...all), hi = Math.max(...all);
  const log = lo > 0 && hi / lo > LOG_SPAN;
  const pad = (hi - lo || Math.abs(hi) * 0.02 || 1) * 0.05;
  const range = log ? [lo / 1.05, hi * 1.05] : [lo - pad, hi + pad];
  const colours = ["#2563eb", "#ea580c"];
  return place(
    el,
    {
      series: [{}, ...aligned.series.map((s, i) => ({ label: s.name, stroke: colours[i] ?? PALETTE[i % PALETTE.length], width: 2, spanGaps: true, points: { show: false }, value: (_u, v) => (v === null ? "—" : v.toFixed(3)) }))],
      // A log axis leaves null among its splits (the ones it does not label).
      axes: [{}, { label: log ? "equity (log)" : "equity", size: 60, values: tickLabels(equityTick) }],
      scales: { y: { distr: log ? 3 : 1, range: () => range } },
    },
    [aligned.t, ...aligned.series.map((s) => s.values)],
  );
}

/** Integer series over an integer x (e.g. the parameters chosen per walk-forward window k), drawn as steps. */
export function stepChart(el, x, series, { xLabel = "", yLabel = "" } = {}) {
  if (!x.length) return void clear(el, "nothing to draw");
  const all = series.flatMap((s) => s.values);
  const hi = Math.max(...all, 1);
  const stepped = uPlot.paths?.stepped?.({ align: 1 });
  return place(
    el,
    {
      series: [
        { label: xLabel, value: (_u, v) => (v === null ? "—" : String(v)) },
        ...series.map((s, i) => ({ label: s.name, stroke: PALETTE[i % PALETTE.length], width: 2, ...(stepped ? { paths: stepped } : {}), points: { show: true, size: 6 } })),
      ],
      axes: [{ label: xLabel, values: (_u, vals) => vals.map((v) => (Number.isInteger(v) ? String(v) : "")) }, { label: yLabel, size: 50 }],
      scales: { x: { time: false, range: () => [x[0] - 0.5, x.at(-1) + 0.5] }, y: { range: () => [0, hi * 1.1] } },
    },
    [x, ...series.map((s) => s.values)],
  );
}
