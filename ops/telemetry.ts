// One tracing setup per process: service.name from the Procfile process, W3C trace context, and a
// BatchSpanProcessor over the PostgreSQL exporter. No context manager: on Node 20 AsyncLocalStorage
// makes every promise of the process pay for async hooks (measured: ~10 % of queue throughput), so trace
// context is passed explicitly — a job's ctx.trace, a producer's span context. Sampling: per job kind at
// the head, whole traces at a time, with failures kept at the tail (telemetry-sampling.ts). Imports nothing
// of ours but its leaf modules (exporter, sampling, and the bounded writer the exporter builds on).
import { ROOT_CONTEXT, SpanKind, TraceFlags, propagation, trace, type Attributes, type Context, type HrTime, type Span, type Tracer } from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { resourceFromAttributes, type Resource } from "@opentelemetry/resources";
import { BasicTracerProvider, BatchSpanProcessor, type ReadableSpan, type SpanExporter } from "@opentelemetry/sdk-trace-base";
import { ATTR_SERVICE_NAME } from "@opentelemetry/semantic-conventions";
import type { Queryable, WriterStats } from "./bounded-writer.ts";
import { PgSpanExporter } from "./telemetry-pg-exporter.ts";
import { JobSpanIds, KindRatioSampler, registerJobSpans, type KeptSpan } from "./telemetry-sampling.ts";

export interface TelemetryOptions {
  /** The Procfile process: web, worker, scheduler, producer, demo, bench. */
  service: string;
  /** Where spans go (a small pool of its own is best: exports never compete with jobs for clients). */
  db?: Queryable;
  /** Any other exporter (tests); `db` is ignored when given. */
  exporter?: SpanExporter;
  secrets?: Iterable<string | undefined>;
  maxPendingSpans?: number;
  /** How often the batch processor hands spans to the exporter. */
  scheduledDelayMs?: number;
  onExportError?(err: Error): void;
}

export interface Telemetry {
  readonly service: string;
  readonly tracer: Tracer;
  /** Exporter counters (written, dropped, pending, failures) when the exporter keeps them. */
  stats(): WriterStats | undefined;
  /** Resolves when the spans ended so far are written (bounded by the exporter's flush timeout). */
  forceFlush(): Promise<void>;
  /** Flushes (bounded) and unregisters the globals. Idempotent. */
  shutdown(): Promise<void>;
}

let current: Telemetry | undefined;

export class TelemetryError extends Error {
  override name = "TelemetryError";
}

export function initTelemetry(opts: TelemetryOptions): Telemetry {
  if (current) throw new TelemetryError(`telemetry is already set up in this process (service ${current.service})`);
  const exporter =
    opts.exporter ??
    (opts.db
      ? new PgSpanExporter(opts.db, {
          ...(opts.maxPendingSpans ? { maxPending: opts.maxPendingSpans } : {}),
          ...(opts.secrets ? { secrets: opts.secrets } : {}),
          ...(opts.onExportError ? { onError: opts.onExportError } : {}),
        })
      : undefined);
  if (!exporter) throw new TelemetryError("initTelemetry needs `db` or `exporter`");
  const resource = resourceFromAttributes({ [ATTR_SERVICE_NAME]: opts.service, "process.pid": process.pid });
  // Our exporter accepts a batch synchronously, so this queue only bridges one scheduling delay.
  const batch = new BatchSpanProcessor(exporter, { maxQueueSize: 8_192, maxExportBatchSize: 512, scheduledDelayMillis: opts.scheduledDelayMs ?? 500, exportTimeoutMillis: 10_000 });
  const ids = new JobSpanIds();
  const provider = new BasicTracerProvider({
    resource,
    sampler: new KindRatioSampler(),
    idGenerator: ids,
    spanProcessors: [batch],
    spanLimits: { attributeValueLengthLimit: 4_096, attributeCountLimit: 64, eventCountLimit: 32 },
  });
  const tracer = provider.getTracer("ta-fleet");
  // Spans kept by the tail rule join the sampled ones on their way to the exporter.
  registerJobSpans(tracer, { keep: (span) => batch.onEnd(readable(span, resource)), ids });
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(provider);
  let closing: Promise<void> | undefined;
  const t: Telemetry = {
    service: opts.service,
    tracer,
    stats: () => (exporter as Partial<PgSpanExporter>).stats?.(),
    // The batch processor hands spans to the exporter only; ours buffers them again, so flush it too.
    forceFlush: async () => {
      await provider.forceFlush();
      await exporter.forceFlush?.();
    },
    shutdown: () =>
      (closing ??= (async () => {
        await Promise.race([
          provider.shutdown().catch(() => {
            // The exporter reports its own failures (bounded writer stats); shutdown must not throw over them.
          }),
          new Promise((r) => setTimeout(r, 10_000).unref()),
        ]);
        trace.disable();
        propagation.disable();
        current = undefined;
      })()),
  };
  current = t;
  return t;
}

function readable(span: KeptSpan, resource: Resource): ReadableSpan {
  const spanContext = { ...span.spanContext, traceFlags: span.spanContext.traceFlags | TraceFlags.SAMPLED };
  const ns = (t: HrTime) => t[0] * 1e9 + t[1];
  const d = Math.max(0, ns(span.endTime) - ns(span.startTime));
  return {
    ...span,
    spanContext: () => spanContext,
    duration: [Math.floor(d / 1e9), d % 1e9],
    links: [],
    ended: true,
    resource,
    instrumentationScope: { name: "ta-fleet" },
    droppedAttributesCount: 0,
    droppedEventsCount: 0,
    droppedLinksCount: 0,
  };
}

/** A root PRODUCER span for work a process starts (a CLI command, the main job) and the context to pass on. */
export function producerSpan(tracer: Tracer, name: string, attributes: Attributes = {}): { span: Span; context: Context } {
  const span = tracer.startSpan(name, { kind: SpanKind.PRODUCER, attributes }, ROOT_CONTEXT);
  return { span, context: trace.setSpan(ROOT_CONTEXT, span) };
}
