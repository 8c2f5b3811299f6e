// Head sampling that keeps or drops a trace as a whole, and the tail rule that still keeps what matters.
// A job span carries its kind's ratio (attribute sampling.ratio, set by the job hooks). The decision is a
// function of the trace id (the SDK's TraceIdRatioBased), so the jobs of one trace that share a ratio decide
// alike, and a span whose parent was dropped is dropped with it.
// A dropped job span costs next to nothing — no SDK span, only its ids (the jobs it enqueues name it as their
// parent) and a small record of what the hooks set on it — and when the job ends failed, retried, stalled or
// slow the hooks mark it (sampling.decision) and it is exported after all, with the trace id and parent it
// would have had. Imports nothing of ours.
import {
  SpanKind,
  SpanStatusCode,
  TraceFlags,
  isSpanContextValid,
  trace,
  type Attributes,
  type AttributeValue,
  type Context,
  type HrTime,
  type Span,
  type SpanContext,
  type SpanStatus,
  type Tracer,
} from "@opentelemetry/api";
import { SamplingDecision, TraceIdRatioBasedSampler, type ReadableSpan, type Sampler, type SamplingResult, type TimedEvent } from "@opentelemetry/sdk-trace-base";

/** The head-sampling ratio a span was started with (job spans only). */
export const SAMPLING_RATIO = "sampling.ratio";
/** "head" when the trace was sampled; "tail:<reason>" when an unsampled span was kept at its end. */
export const SAMPLING_DECISION = "sampling.decision";

const HEAD: SamplingResult = { decision: SamplingDecision.RECORD_AND_SAMPLED, attributes: { [SAMPLING_DECISION]: "head" } };
const DROP: SamplingResult = { decision: SamplingDecision.NOT_RECORD };

export class KindRatioSampler implements Sampler {
  // A handful of distinct ratios in a process (one per configured kind).
  private readonly byRatio = new Map<number, TraceIdRatioBasedSampler>();

  shouldSample(context: Context, traceId: string, _name: string, _kind: unknown, attributes: Attributes): SamplingResult {
    const parent = trace.getSpanContext(context);
    if (parent && isSpanContextValid(parent) && !(parent.traceFlags & TraceFlags.SAMPLED)) return DROP;
    const ratio = attributes[SAMPLING_RATIO];
    if (typeof ratio !== "number" || ratio >= 1) return HEAD;
    return this.ratio(ratio).shouldSample(context, traceId).decision === SamplingDecision.RECORD_AND_SAMPLED ? HEAD : DROP;
  }

  toString(): string {
    return "KindRatioSampler{parent-based, trace-id ratio per job kind, tail-kept failures}";
  }

  private ratio(r: number): TraceIdRatioBasedSampler {
    let s = this.byRatio.get(r);
    if (!s) this.byRatio.set(r, (s = new TraceIdRatioBasedSampler(r)));
    return s;
  }
}

/** What a kept span is built from; the telemetry setup adds resource and scope and exports it. */
export type KeptSpan = Pick<ReadableSpan, "name" | "kind" | "parentSpanContext" | "startTime" | "endTime" | "status" | "attributes" | "events"> & { spanContext: SpanContext };

// The exporter of each tracer set up by ops/telemetry.ts: a tracer of somebody else's setup keeps nothing.
const keepers = new WeakMap<Tracer, (span: KeptSpan) => void>();

export function registerKeeper(tracer: Tracer, keep: (span: KeptSpan) => void): void {
  keepers.set(tracer, keep);
}

const hrNow = (): HrTime => {
  const ms = performance.timeOrigin + performance.now();
  return [Math.floor(ms / 1000), Math.round((ms % 1000) * 1e6)];
};

/**
 * A job's span: the SDK's when its trace is sampled, else a candidate for the tail rule — its ids, start time,
 * attributes, status and exception events, exported at end() only when sampling.decision was set on it.
 */
export function startJobSpan(tracer: Tracer, name: string, attributes: Attributes, parent: Context): Span {
  const span = tracer.startSpan(name, { kind: SpanKind.CONSUMER, attributes }, parent);
  if (span.isRecording()) return span;
  const keep = keepers.get(tracer);
  if (!keep) return span;
  const parentContext = trace.getSpanContext(parent);
  // The attributes object is the caller's own for this span (the runtime builds one per job): no copy.
  return new TailCandidate(keep, name, span.spanContext(), parentContext && isSpanContextValid(parentContext) ? parentContext : undefined, attributes as Record<string, AttributeValue>);
}

class TailCandidate implements Span {
  private readonly startTime = hrNow();
  private status: SpanStatus = { code: SpanStatusCode.UNSET };
  private readonly events: TimedEvent[] = [];
  private ended = false;

  constructor(
    private readonly keep: (span: KeptSpan) => void,
    private name: string,
    private readonly context: SpanContext,
    private readonly parent: SpanContext | undefined,
    private readonly attributes: Record<string, AttributeValue>,
  ) {}

  spanContext(): SpanContext {
    return this.context;
  }

  setAttribute(key: string, value: AttributeValue | undefined): this {
    if (value !== undefined) this.attributes[key] = value;
    return this;
  }

  setAttributes(attributes: Attributes): this {
    for (const [k, v] of Object.entries(attributes)) this.setAttribute(k, v);
    return this;
  }

  addEvent(name: string, attributes?: Attributes): this {
    this.events.push({ name, time: hrNow(), ...(attributes ? { attributes } : {}), droppedAttributesCount: 0 });
    return this;
  }

  addLink(): this {
    return this;
  }

  addLinks(): this {
    return this;
  }

  setStatus(status: SpanStatus): this {
    this.status = status;
    return this;
  }

  updateName(name: string): this {
    this.name = name;
    return this;
  }

  isRecording(): boolean {
    return false;
  }

  // The attributes the SDK records for an exception (semantic conventions).
  recordException(err: Error | string): void {
    const e = typeof err === "string" ? { message: err } : err;
    this.addEvent("exception", { ...("name" in e && e.name ? { "exception.type": e.name } : {}), "exception.message": e.message ?? "", ...("stack" in e && e.stack ? { "exception.stacktrace": e.stack } : {}) });
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    if (typeof this.attributes[SAMPLING_DECISION] !== "string") return;
    const { name, context: spanContext, parent: parentSpanContext, startTime, status, attributes, events } = this;
    this.keep({ name, kind: SpanKind.CONSUMER, spanContext, parentSpanContext, startTime, endTime: hrNow(), status, attributes, events });
  }
}
