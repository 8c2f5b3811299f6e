// Head sampling that keeps or drops a trace as a whole, and the tail rule that still keeps what matters.
// A job span carries its kind's ratio (attribute sampling.ratio, set by the job hooks). The decision is a
// function of the trace id (the SDK's TraceIdRatioBased), so the jobs of one trace that share a ratio decide
// alike, and a span whose parent was dropped is dropped with it. A dropped job span is still recorded
// (RECORD, not NOT_RECORD): its ids exist from the start, the jobs it enqueues name it as their parent, and
// when the job ends failed, retried, stalled or slow the hooks set sampling.decision on it and the processor
// below exports it after all — with the trace id and parent it would have had. Imports nothing of ours.
import { TraceFlags, isSpanContextValid, trace, type Attributes, type Context } from "@opentelemetry/api";
import { SamplingDecision, TraceIdRatioBasedSampler, type ReadableSpan, type Sampler, type SamplingResult, type Span, type SpanProcessor } from "@opentelemetry/sdk-trace-base";

/** The head-sampling ratio a span was started with (job spans only). */
export const SAMPLING_RATIO = "sampling.ratio";
/** "head" when the trace was sampled; "tail:<reason>" when an unsampled span was kept at its end. */
export const SAMPLING_DECISION = "sampling.decision";

const HEAD: SamplingResult = { decision: SamplingDecision.RECORD_AND_SAMPLED, attributes: { [SAMPLING_DECISION]: "head" } };
const KEEP_FOR_TAIL: SamplingResult = { decision: SamplingDecision.RECORD };
const DROP: SamplingResult = { decision: SamplingDecision.NOT_RECORD };

export class KindRatioSampler implements Sampler {
  // A handful of distinct ratios in a process (one per configured kind).
  private readonly byRatio = new Map<number, TraceIdRatioBasedSampler>();

  shouldSample(context: Context, traceId: string, _name: string, _kind: unknown, attributes: Attributes): SamplingResult {
    const ratio = attributes[SAMPLING_RATIO];
    const isJob = typeof ratio === "number";
    const parent = trace.getSpanContext(context);
    if (parent && isSpanContextValid(parent) && !(parent.traceFlags & TraceFlags.SAMPLED)) return isJob ? KEEP_FOR_TAIL : DROP;
    if (!isJob || ratio >= 1) return HEAD;
    return this.ratio(ratio).shouldSample(context, traceId).decision === SamplingDecision.RECORD_AND_SAMPLED ? HEAD : KEEP_FOR_TAIL;
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

/** Passes sampled spans on, and unsampled ones that were marked for keeping at their end. */
export class TailKeepingProcessor implements SpanProcessor {
  constructor(private readonly inner: SpanProcessor) {}

  onStart(span: Span, parentContext: Context): void {
    this.inner.onStart(span, parentContext);
  }

  onEnd(span: ReadableSpan): void {
    if (span.spanContext().traceFlags & TraceFlags.SAMPLED) this.inner.onEnd(span);
    else if (typeof span.attributes[SAMPLING_DECISION] === "string") this.inner.onEnd(asSampled(span));
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush();
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }
}

// The batch processor exports sampled spans only; the kept span is handed over as one, with its own ids.
function asSampled(span: ReadableSpan): ReadableSpan {
  const context = { ...span.spanContext(), traceFlags: span.spanContext().traceFlags | TraceFlags.SAMPLED };
  return Object.create(span, { spanContext: { value: () => context } }) as ReadableSpan;
}
