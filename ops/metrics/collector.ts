// Counters, gauges and histograms with labels, aggregated in memory and written to observability.metrics
// in batches (on a timer and on close), so recording a value costs a few additions, never a query.
//
// Rows per flush interval and series: a counter writes its increase, a gauge its last value, and a
// histogram writes `<name>_count` and `<name>_sum` (counters) plus up to `samplesPerInterval` observations
// kept by reservoir sampling (one row each, type 'histogram'). Percentiles (percentile_cont) therefore run
// over all observations of quiet intervals and over a uniform sample of busy ones; _count/_sum stay exact.
import { BoundedWriter, type WriterStats } from "../bounded-writer.ts";

export type Labels = Readonly<Record<string, string>>;
export type MetricType = "counter" | "gauge" | "histogram";

export interface MetricRow {
  /** Epoch milliseconds. */
  at: number;
  name: string;
  type: MetricType;
  value: number;
  component: string;
  /** Labels as JSON. */
  labels: string;
}

export interface Counter {
  inc(n?: number): void;
}
export interface Gauge {
  set(value: number): void;
}
export interface Histogram {
  observe(value: number): void;
}

export interface CollectorOptions {
  /** The process (web, worker, scheduler, ...): stored in the `component` column. */
  component: string;
  write(rows: MetricRow[]): Promise<void>;
  flushMs?: number;
  /** Distinct (name, labels) series; new ones beyond it are ignored and counted. */
  maxSeries?: number;
  /** Rows held while PostgreSQL is unreachable; beyond it rows are dropped and counted. */
  maxPendingRows?: number;
  samplesPerInterval?: number;
  onError?(err: Error): void;
  isPermanent?(err: unknown): boolean;
}

interface Series {
  name: string;
  labels: string;
  /** Exact figures go to `out`, histogram samples to `samples` (written last, so dropped first). */
  rows(at: number, component: string, out: MetricRow[], samples: MetricRow[]): void;
}

class CounterSeries implements Series, Counter {
  private delta = 0;
  constructor(readonly name: string, readonly labels: string) {}
  inc(n = 1): void {
    this.delta += n;
  }
  rows(at: number, component: string, out: MetricRow[]): void {
    if (this.delta === 0) return;
    out.push({ at, name: this.name, type: "counter", value: this.delta, component, labels: this.labels });
    this.delta = 0;
  }
}

class GaugeSeries implements Series, Gauge {
  private value = 0;
  private dirty = false;
  constructor(readonly name: string, readonly labels: string) {}
  set(value: number): void {
    this.value = value;
    this.dirty = true;
  }
  rows(at: number, component: string, out: MetricRow[]): void {
    if (!this.dirty) return;
    out.push({ at, name: this.name, type: "gauge", value: this.value, component, labels: this.labels });
    this.dirty = false;
  }
}

class HistogramSeries implements Series, Histogram {
  private n = 0;
  private sum = 0;
  private readonly samples: Float64Array;
  constructor(readonly name: string, readonly labels: string, size: number) {
    this.samples = new Float64Array(size);
  }
  observe(value: number): void {
    const i = this.n++;
    this.sum += value;
    if (i < this.samples.length) this.samples[i] = value;
    else {
      // Algorithm R: every observation of the interval has the same chance to be kept.
      const j = Math.floor(Math.random() * (i + 1));
      if (j < this.samples.length) this.samples[j] = value;
    }
  }
  rows(at: number, component: string, out: MetricRow[], samples: MetricRow[]): void {
    if (this.n === 0) return;
    const kept = Math.min(this.n, this.samples.length);
    for (let i = 0; i < kept; i++) samples.push({ at, name: this.name, type: "histogram", value: this.samples[i]!, component, labels: this.labels });
    out.push({ at, name: `${this.name}_count`, type: "counter", value: this.n, component, labels: this.labels });
    out.push({ at, name: `${this.name}_sum`, type: "counter", value: this.sum, component, labels: this.labels });
    this.n = 0;
    this.sum = 0;
  }
}

// A disabled collector's instruments: recording into them is a no-op by design.
const NOOP = { inc: noop, set: noop, observe: noop };
function noop(): void {
  // nothing recorded
}

/** Stable JSON for a label set: the same labels in any order are one series. */
export function labelKey(labels: Labels = {}): string {
  const keys = Object.keys(labels).sort();
  const o: Record<string, string> = {};
  for (const k of keys) o[k] = String(labels[k]);
  return JSON.stringify(o);
}

export class MetricsCollector {
  private readonly series = new Map<string, Series>();
  private readonly callbacks: Array<() => void> = [];
  private readonly writer: BoundedWriter<MetricRow>;
  private readonly timer: NodeJS.Timeout;
  private droppedSeries = 0;
  private closing?: Promise<void>;

  constructor(private readonly opts: CollectorOptions) {
    this.writer = new BoundedWriter<MetricRow>({
      write: opts.write,
      maxPending: opts.maxPendingRows ?? 50_000,
      batchSize: 2_000,
      ...(opts.onError ? { onError: opts.onError } : {}),
      ...(opts.isPermanent ? { isPermanent: opts.isPermanent } : {}),
    });
    this.timer = setInterval(() => this.collect(), opts.flushMs ?? 10_000).unref();
  }

  /** Bind once and keep the handle: lookups build a key, increments on the handle do not. */
  counter(name: string, labels?: Labels): Counter {
    return this.get(name, labels, (l) => new CounterSeries(name, l));
  }

  gauge(name: string, labels?: Labels): Gauge {
    return this.get(name, labels, (l) => new GaugeSeries(name, l));
  }

  histogram(name: string, labels?: Labels): Histogram {
    return this.get(name, labels, (l) => new HistogramSeries(name, l, this.opts.samplesPerInterval ?? 64));
  }

  /** Runs `fn` right before every flush (gauges read from elsewhere: buffer sizes, drop counters). */
  beforeFlush(fn: () => void): void {
    this.callbacks.push(fn);
  }

  stats(): WriterStats & { droppedSeries: number; series: number } {
    return { ...this.writer.stats(), droppedSeries: this.droppedSeries, series: this.series.size };
  }

  /** Moves the current interval into the write buffer and waits (bounded) until it is written. */
  async flush(timeoutMs = 5_000): Promise<boolean> {
    this.collect();
    return this.writer.flush(timeoutMs);
  }

  close(timeoutMs = 5_000): Promise<void> {
    this.closing ??= (async () => {
      clearInterval(this.timer);
      this.collect();
      await this.writer.close(timeoutMs);
    })();
    return this.closing;
  }

  private collect(): void {
    for (const fn of this.callbacks) {
      try {
        fn();
      } catch {
        // a broken callback must not stop the flush
      }
    }
    const rows: MetricRow[] = [];
    const samples: MetricRow[] = [];
    const at = Date.now();
    for (const s of this.series.values()) s.rows(at, this.opts.component, rows, samples);
    // When the buffer is short of room, counters and gauges get in and samples are what is dropped.
    for (const r of samples) rows.push(r);
    if (rows.length) this.writer.push(rows);
  }

  private get<T>(name: string, labels: Labels | undefined, make: (labels: string) => T & Series): T {
    const l = labelKey(labels);
    const key = `${name}\u0000${l}`;
    let s = this.series.get(key);
    if (!s) {
      if (this.series.size >= (this.opts.maxSeries ?? 2_000)) {
        this.droppedSeries++;
        return NOOP as T;
      }
      s = make(l);
      this.series.set(key, s);
    }
    return s as T;
  }
}
