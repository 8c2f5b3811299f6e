// The dashboard's pure reshaping: aligned chart series, the trace waterfall's nesting and order, the
// sweep heatmap matrix, the walk-forward's curves on one date axis.
import { describe, expect, it } from "vitest";
import type { SpanRow } from "../../db/repos/dashboard-ops.ts";
import { alignCurves, alignSeries, heatmap, waterfall } from "../../apps/web/dashboard/shape.ts";

const span = (spanId: string, parentSpanId: string | null, startMs: number, durationMs: number, extra: Partial<SpanRow> = {}): SpanRow => ({
  spanId,
  parentSpanId,
  name: spanId,
  service: "worker",
  kind: "CONSUMER",
  startMs,
  durationMs,
  status: "OK",
  statusMessage: null,
  attributes: {},
  events: [],
  ...extra,
});

describe("alignSeries", () => {
  it("puts every series on one sorted x axis, null where a series has no point, scaled", () => {
    const a = alignSeries(
      [
        { t: 120, series: "stage", value: 4 },
        { t: 60, series: "stage", value: 2 },
        { t: 120, series: "flow", value: 1 },
      ],
      0.5,
    );
    expect(a).toEqual({ t: [60, 120], series: [{ name: "flow", values: [null, 0.5] }, { name: "stage", values: [1, 2] }] });
    expect(alignSeries([])).toEqual({ t: [], series: [] });
  });
});

describe("waterfall", () => {
  it("orders depth-first with children by start time, offsets from the first span, and lifts orphans to roots", () => {
    const w = waterfall([
      span("c2", "root", 1_030, 5),
      span("root", null, 1_000, 100),
      span("c1", "root", 1_010, 10),
      span("g1", "c1", 1_012, 3, { status: "ERROR", statusMessage: "boom", events: [{ name: "exception", attributes: { "exception.message": "boom: detail" } }] }),
      span("orphan", "not-exported", 1_050, 60),
    ]);
    expect(w.rows.map((r) => [r.spanId, r.depth, r.offsetMs])).toEqual([
      ["root", 0, 0],
      ["c1", 1, 10],
      ["g1", 2, 12],
      ["c2", 1, 30],
      ["orphan", 0, 50],
    ]);
    expect(w.totalMs).toBe(110);
    expect(w.rows[2]).toMatchObject({ status: "ERROR", statusMessage: "boom", errors: ["boom: detail"] });
  });

  it("survives a parent cycle in bad data without looping", () => {
    const w = waterfall([span("a", "b", 0, 1), span("b", "a", 1, 1), span("r", null, 2, 1)]);
    expect(w.rows.map((r) => r.spanId)).toEqual(["r"]);
    expect(waterfall([])).toEqual({ startMs: 0, totalMs: 0, rows: [] });
  });
});

describe("heatmap", () => {
  it("builds slow × fast with null for combinations not evaluated or without a finite Sharpe", () => {
    const cell = (fast: number, slow: number, sharpe: number) => ({ fast, slow, sharpe, totalReturn: 0, maxDrawdown: 0, trades: 1 });
    expect(heatmap([cell(5, 10, 1.5), cell(8, 10, Number.NaN), cell(5, 15, -0.5)])).toEqual({ fast: [5, 8], slow: [10, 15], sharpe: [[1.5, null], [-0.5, null]] });
  });
});

describe("alignCurves", () => {
  it("puts dated curves on one UTC-midnight axis of every date, null where a curve has no point, in the given order", () => {
    const day = (d: string) => Date.parse(`${d}T00:00:00Z`) / 1000;
    const a = alignCurves([
      { name: "stitched OOS", dates: ["2024-01-01", "2024-01-02", "2024-01-04"], values: [1, 1.1, 1.2] },
      { name: "full-period best", dates: ["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04"], values: [1, 0.9, 0.95, 1.3] },
    ]);
    expect(a).toEqual({
      t: [day("2024-01-01"), day("2024-01-02"), day("2024-01-03"), day("2024-01-04")],
      series: [
        { name: "stitched OOS", values: [1, 1.1, null, 1.2] },
        { name: "full-period best", values: [1, 0.9, 0.95, 1.3] },
      ],
    });
    expect(a.t[0]).toBe(1704067200);
    expect(alignCurves([])).toEqual({ t: [], series: [] });
    expect(() => alignCurves([{ name: "x", dates: ["2024-01-01"], values: [] }])).toThrow("alignCurves: x has 1 dates and 0 values");
  });
});
