// The collector's aggregation and its bounded, retrying write buffer (the sink here is a function; the
// PostgreSQL path is covered by the integration tests).
import { afterEach, describe, expect, it } from "vitest";
import { MetricsCollector, type MetricRow } from "../../ops/metrics/collector.ts";

const collectors: MetricsCollector[] = [];
afterEach(async () => {
  await Promise.all(collectors.splice(0).map((c) => c.close(100)));
});

function collector(opts: Partial<ConstructorParameters<typeof MetricsCollector>[0]> & { sink?: MetricRow[]; fail?: () => boolean } = {}) {
  const sink = opts.sink ?? [];
  const c = new MetricsCollector({
    component: "unit",
    flushMs: 60_000,
    write: async (rows) => {
      if (opts.fail?.()) throw new Error("server down");
      sink.push(...rows);
    },
    ...opts,
  });
  collectors.push(c);
  return { c, sink };
}

const rowsOf = (sink: MetricRow[], name: string) => sink.filter((r) => r.name === name);

describe("MetricsCollector", () => {
  it("writes counter increases, the last gauge value, and nothing for idle series", async () => {
    const { c, sink } = collector();
    const done = c.counter("jobs", { queue: "stage", outcome: "completed" });
    done.inc();
    done.inc(4);
    c.gauge("depth", { queue: "stage" }).set(7);
    c.gauge("depth", { queue: "stage" }).set(3);
    c.counter("idle");
    expect(await c.flush()).toBe(true);
    expect(rowsOf(sink, "jobs")).toMatchObject([{ type: "counter", value: 5, component: "unit", labels: '{"outcome":"completed","queue":"stage"}' }]);
    expect(rowsOf(sink, "depth")).toMatchObject([{ type: "gauge", value: 3 }]);
    expect(rowsOf(sink, "idle")).toEqual([]);
    // The next interval starts from zero: an unchanged counter writes nothing.
    sink.length = 0;
    await c.flush();
    expect(sink).toEqual([]);
  });

  it("treats the same labels in any order as one series", async () => {
    const { c, sink } = collector();
    c.counter("x", { a: "1", b: "2" }).inc();
    c.counter("x", { b: "2", a: "1" }).inc();
    await c.flush();
    expect(rowsOf(sink, "x")).toHaveLength(1);
    expect(rowsOf(sink, "x")[0]!.value).toBe(2);
  });

  it("summarises a histogram per interval: exact count and sum, a bounded uniform sample", async () => {
    const { c, sink } = collector({ samplesPerInterval: 16 });
    const h = c.histogram("run_ms", { queue: "q" });
    for (let i = 1; i <= 1000; i++) h.observe(i);
    await c.flush();
    const samples = sink.filter((r) => r.name === "run_ms" && r.type === "histogram");
    expect(samples).toHaveLength(16);
    for (const s of samples) expect(s.value).toBeGreaterThanOrEqual(1), expect(s.value).toBeLessThanOrEqual(1000);
    expect(rowsOf(sink, "run_ms_count")).toMatchObject([{ type: "counter", value: 1000 }]);
    expect(rowsOf(sink, "run_ms_sum")).toMatchObject([{ type: "counter", value: 500_500 }]);
    // A quiet interval keeps every observation.
    sink.length = 0;
    h.observe(42);
    await c.flush();
    expect(sink.filter((r) => r.type === "histogram").map((r) => r.value)).toEqual([42]);
  });

  it("holds rows while the sink fails, drops beyond its bound with a count, and writes the rest once it recovers", async () => {
    let down = true;
    const { c, sink } = collector({ maxPendingRows: 10, fail: () => down });
    for (let i = 0; i < 25; i++) c.counter("n", { i: String(i) }).inc();
    expect(await c.flush(200)).toBe(false);
    expect(c.stats()).toMatchObject({ pending: 10, dropped: 15, written: 0 });
    expect(c.stats().failures).toBeGreaterThan(0);
    down = false;
    expect(await c.flush(2_000)).toBe(true);
    expect(c.stats()).toMatchObject({ pending: 0, dropped: 15, written: 10 });
    expect(new Set(sink.map((r) => r.labels)).size).toBe(10);
  });

  it("when the buffer is short of room, keeps counters and drops histogram samples first", async () => {
    let down = true;
    const { c, sink } = collector({ maxPendingRows: 5, samplesPerInterval: 64, fail: () => down });
    const h = c.histogram("lat");
    for (let i = 0; i < 100; i++) h.observe(i);
    c.counter("jobs").inc(100);
    expect(await c.flush(50)).toBe(false);
    expect(c.stats()).toMatchObject({ pending: 5, dropped: 62 });
    down = false;
    expect(await c.flush(2_000)).toBe(true);
    expect(sink.map((r) => r.name).sort()).toEqual(["jobs", "lat", "lat", "lat_count", "lat_sum"]);
  });

  it("ignores series beyond maxSeries and counts them", async () => {
    const { c, sink } = collector({ maxSeries: 3 });
    for (let i = 0; i < 5; i++) c.counter("s", { i: String(i) }).inc();
    await c.flush();
    expect(sink).toHaveLength(3);
    expect(c.stats()).toMatchObject({ series: 3, droppedSeries: 2 });
  });

  it("runs beforeFlush callbacks and writes the last interval on close (idempotent)", async () => {
    const { c, sink } = collector();
    let pending = 0;
    c.beforeFlush(() => c.gauge("buffer").set(++pending));
    c.beforeFlush(() => {
      throw new Error("a broken callback does not stop the flush");
    });
    c.counter("last").inc();
    await Promise.all([c.close(), c.close()]);
    expect(rowsOf(sink, "last")).toHaveLength(1);
    expect(rowsOf(sink, "buffer")).toMatchObject([{ value: 1 }]);
    c.counter("after-close").inc();
    await c.close();
    expect(rowsOf(sink, "after-close")).toEqual([]);
  });
});
