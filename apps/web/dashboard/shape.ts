// Pure reshaping of query results into what the dashboard's charts draw: aligned time series, the trace
// waterfall (spans nested by parent), and the sweep heatmap matrix. No I/O here.
import type { SeriesPoint, SpanRow } from "../../../db/repos/dashboard-ops.ts";
import type { SweepCell } from "../../../db/repos/dashboard-research.ts";

export interface AlignedSeries {
  /** Bucket starts, epoch seconds, ascending. */
  t: number[];
  series: Array<{ name: string; values: Array<number | null> }>;
}

/** One x axis for every series (a series without a point in a bucket gets null there). */
export function alignSeries(points: readonly SeriesPoint[], scale = 1): AlignedSeries {
  const t = [...new Set(points.map((p) => p.t))].sort((a, b) => a - b);
  const index = new Map(t.map((x, i) => [x, i]));
  const byName = new Map<string, Array<number | null>>();
  for (const p of points) {
    const name = p.series ?? "(none)";
    let values = byName.get(name);
    if (!values) byName.set(name, (values = new Array<number | null>(t.length).fill(null)));
    values[index.get(p.t)!] = p.value * scale;
  }
  const series = [...byName].sort(([a], [b]) => a.localeCompare(b)).map(([name, values]) => ({ name, values }));
  return { t, series };
}

export interface WaterfallRow {
  spanId: string;
  parentSpanId: string | null;
  name: string;
  service: string;
  depth: number;
  /** Start relative to the trace's first span, ms. */
  offsetMs: number;
  durationMs: number;
  status: SpanRow["status"];
  statusMessage: string | null;
  attributes: Record<string, unknown>;
  /** Exceptions recorded on the span (their messages). */
  errors: string[];
}

export interface Waterfall {
  startMs: number;
  totalMs: number;
  rows: WaterfallRow[];
}

const exceptionMessages = (events: unknown[]): string[] =>
  events.flatMap((e) => {
    const ev = e as { name?: string; attributes?: Record<string, unknown> };
    return ev?.name === "exception" ? [String(ev.attributes?.["exception.message"] ?? ev.attributes?.["exception.type"] ?? "exception")] : [];
  });

/**
 * Spans in depth-first order, children by start time, each with its depth. A span whose parent is not
 * in the trace (not exported, or from another trace) is shown as a root rather than dropped.
 */
export function waterfall(spans: readonly SpanRow[]): Waterfall {
  if (!spans.length) return { startMs: 0, totalMs: 0, rows: [] };
  const ids = new Set(spans.map((s) => s.spanId));
  const children = new Map<string | null, SpanRow[]>();
  for (const s of spans) {
    const parent = s.parentSpanId && ids.has(s.parentSpanId) ? s.parentSpanId : null;
    let list = children.get(parent);
    if (!list) children.set(parent, (list = []));
    list.push(s);
  }
  for (const list of children.values()) list.sort((a, b) => a.startMs - b.startMs || a.spanId.localeCompare(b.spanId));
  const startMs = Math.min(...spans.map((s) => s.startMs));
  const endMs = Math.max(...spans.map((s) => s.startMs + s.durationMs));
  const rows: WaterfallRow[] = [];
  // Iterative: a deep trace must not overflow the stack; `seen` guards against a parent cycle in bad data.
  const seen = new Set<string>();
  const stack: Array<{ span: SpanRow; depth: number }> = (children.get(null) ?? []).map((span) => ({ span, depth: 0 })).reverse();
  while (stack.length) {
    const { span, depth } = stack.pop()!;
    if (seen.has(span.spanId)) continue;
    seen.add(span.spanId);
    rows.push({
      spanId: span.spanId,
      parentSpanId: span.parentSpanId,
      name: span.name,
      service: span.service,
      depth,
      offsetMs: span.startMs - startMs,
      durationMs: span.durationMs,
      status: span.status,
      statusMessage: span.statusMessage,
      attributes: span.attributes,
      errors: exceptionMessages(span.events),
    });
    const kids = children.get(span.spanId) ?? [];
    for (let i = kids.length - 1; i >= 0; i--) stack.push({ span: kids[i]!, depth: depth + 1 });
  }
  return { startMs, totalMs: endMs - startMs, rows };
}

export interface Heatmap {
  fast: number[];
  slow: number[];
  /** sharpe[i][j] for slow[i] × fast[j]; null where the combination was not evaluated or is NaN. */
  sharpe: Array<Array<number | null>>;
}

export function heatmap(cells: readonly SweepCell[]): Heatmap {
  const fast = [...new Set(cells.map((c) => c.fast))].sort((a, b) => a - b);
  const slow = [...new Set(cells.map((c) => c.slow))].sort((a, b) => a - b);
  const fi = new Map(fast.map((v, i) => [v, i]));
  const si = new Map(slow.map((v, i) => [v, i]));
  const sharpe = slow.map(() => new Array<number | null>(fast.length).fill(null));
  for (const c of cells) sharpe[si.get(c.slow)!]![fi.get(c.fast)!] = Number.isFinite(c.sharpe) ? c.sharpe : null;
  return { fast, slow, sharpe };
}

/** A date-labelled curve (dates YYYY-MM-DD, one value each). */
export interface DatedCurve {
  name: string;
  dates: readonly string[];
  values: readonly number[];
}

/**
 * Curves over different dates on one x axis (epoch seconds of UTC midnight, every date of any curve,
 * ascending), each null where it has no point — the walk-forward's stitched OOS curve skips the later
 * windows' first bars that the full-period best's curve has. Curves keep their order.
 */
export function alignCurves(curves: readonly DatedCurve[]): AlignedSeries {
  for (const c of curves) if (c.dates.length !== c.values.length) throw new Error(`alignCurves: ${c.name} has ${c.dates.length} dates and ${c.values.length} values`);
  const days = [...new Set(curves.flatMap((c) => c.dates))].sort();
  const index = new Map(days.map((d, i) => [d, i]));
  return {
    t: days.map((d) => Date.parse(`${d}T00:00:00Z`) / 1000),
    series: curves.map((c) => {
      const values = new Array<number | null>(days.length).fill(null);
      c.dates.forEach((d, i) => (values[index.get(d)!] = c.values[i]!));
      return { name: c.name, values };
    }),
  };
}
