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

/** aligned = { t: [epoch s], series: [{ name, values }] }; xRange = [from, to] (epoch s) shows the whole window. */
export function lineChart(el, aligned, { yLabel = "", format = (v) => v, xRange } = {}) {
  if (!aligned.t.length) return void clear(el, "no data in this window");
  return place(
    el,
    {
      series: [{}, ...aligned.series.map((s, i) => ({ label: s.name, stroke: PALETTE[i % PALETTE.length], width: 2, points: { show: aligned.t.length < 60 }, spanGaps: false, value: (_u, v) => (v === null ? "—" : format(v)) }))],
      axes: [{}, { label: yLabel, size: 60, values: (_u, vals) => vals.map(format) }],
      // From zero; an all-zero series gets a unit axis instead of a degenerate one.
      scales: { ...(xRange ? { x: { time: true, range: () => xRange } } : {}), y: { range: (_u, min, max) => [Math.min(0, min ?? 0), max > 0 ? max * 1.1 : 1] } },
    },
    [aligned.t, ...aligned.series.map((s) => s.values)],
  );
}

/** curve = { t: [epoch s], equity: [...], drawdown: [fraction] }: equity (log scale) on the left, drawdown (%) below zero on the right. */
export function equityChart(el, curve) {
  if (!curve.t.length) return void clear(el, "no equity curve stored for this run");
  return place(
    el,
    {
      series: [
        {},
        { label: "equity", scale: "eq", stroke: "#2563eb", width: 2, value: (_u, v) => (v === null ? "—" : v.toFixed(3)) },
        { label: "drawdown %", scale: "dd", stroke: "#dc2626", width: 1, fill: "rgba(220, 38, 38, 0.15)", value: (_u, v) => (v === null ? "—" : `${v.toFixed(1)} %`) },
      ],
      axes: [{}, { scale: "eq", label: "equity", size: 60 }, { scale: "dd", side: 1, label: "drawdown %", size: 60, grid: { show: false } }],
      scales: { eq: { distr: 3 }, dd: { range: (_u, min) => [Math.min(min ?? 0, -1) * 1.05, 0] } },
    },
    [curve.t, curve.equity, curve.drawdown.map((d) => -d * 100)],
  );
}

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
