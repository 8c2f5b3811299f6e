// Head sampling that keeps or drops a trace as a whole, and the tail rule that still keeps what matters.
// A job span carries its kind's ratio (attribute sampling.ratio, set by the job hooks). The decision is a
// function of the trace id (keepsTrace), so the jobs of one trace that share a ratio decide alike, and a span
// whose parent was dropped is dropped with it.
// Job spans are decided here, before the SDK: a dropped one costs next to nothing — no SDK span, only its
// ids (the jobs it enqueues name it as their parent) and a small record of what the hooks set on it — and when
// the job ends failed, retried, stalled or slow the hooks mark it (sampling.decision) and it is exported after
// all, with the trace id and parent it would have had. Imports nothing of ours.
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
import { randomFillSync } from "node:crypto";
// The module's, not the global: on Node 20 the global `performance` is a lazy getter run on every access.
import { performance } from "node:perf_hooks";
import { SamplingDecision, type IdGenerator, type ReadableSpan, type Sampler, type SamplingResult, type TimedEvent } from "@opentelemetry/sdk-trace-base";

/** The head-sampling ratio a span was started with (job spans only). */
export const SAMPLING_RATIO = "sampling.ratio";
/** "head" when the trace was sampled; "tail:<reason>" when an unsampled span was kept at its end. */
export const SAMPLING_DECISION = "sampling.decision";

const HEAD: SamplingResult = { decision: SamplingDecision.RECORD_AND_SAMPLED, attributes: { [SAMPLING_DECISION]: "head" } };
const DROP: SamplingResult = { decision: SamplingDecision.NOT_RECORD };

/** Whether a trace is kept at `ratio`: the id's last 32 bits, which W3C trace context requires to be random. */
export function keepsTrace(traceId: string, ratio: number): boolean {
  return keeps(parseInt(traceId.slice(24), 16), ratio);
}

const keeps = (last32Bits: number, ratio: number): boolean => ratio >= 1 || last32Bits < ratio * 2 ** 32;

/** Parent-based, then the span's own sampling.ratio on its trace id; spans without a ratio are kept. */
export class KindRatioSampler implements Sampler {
  shouldSample(context: Context, traceId: string, _name: string, _kind: unknown, attributes: Attributes): SamplingResult {
    const parent = trace.getSpanContext(context);
    if (parent && isSpanContextValid(parent) && !(parent.traceFlags & TraceFlags.SAMPLED)) return DROP;
    const ratio = attributes[SAMPLING_RATIO];
    return typeof ratio !== "number" || keepsTrace(traceId, ratio) ? HEAD : DROP;
  }

  toString(): string {
    return "KindRatioSampler{parent-based, trace-id ratio per job kind, tail-kept failures}";
  }
}

// Ids are cut from a pool of random bytes refilled, and hex-encoded, in one call: an id is a slice of that
// text, and a root's sampling decision reads its last 32 bits from the bytes. Formatting ids one at a time
// (Buffer#toString per id, parseInt to decide) cost more than the rest of the hooks together. Ids are cut in
// 8-byte units whose last byte is made odd, so no id is the invalid all-zero one. A slice keeps the pool's
// text (8 KiB) alive while it lives: a few pools' worth, as ids outlive their job only in write buffers.
const POOL_BYTES = 4_096;
const pool = Buffer.alloc(POOL_BYTES);
let poolHex = "";
let used = POOL_BYTES;
/** Offset of `bytes` (a multiple of 8) fresh random bytes in `pool`, valid until the next call. */
function draw(bytes: number): number {
  if (used + bytes > POOL_BYTES) {
    randomFillSync(pool);
    for (let i = 7; i < POOL_BYTES; i += 8) pool[i]! |= 1;
    poolHex = pool.toString("hex");
    used = 0;
  }
  const at = used;
  used += bytes;
  return at;
}
const hexAt = (at: number, bytes: number): string => poolHex.slice(2 * at, 2 * (at + bytes));
const newTraceId = (): string => hexAt(draw(16), 16);
const newSpanId = (): string => hexAt(draw(8), 8);

/**
 * The tracer's ids. A root job span is decided on a trace id drawn before the SDK sees it; when it is kept, the
 * SDK span must carry that same id, so it is handed over for the one synchronous startSpan call that follows.
 */
export class JobSpanIds implements IdGenerator {
  private next?: string;

  generateTraceId(): string {
    const id = this.next ?? newTraceId();
    this.next = undefined;
    return id;
  }

  generateSpanId(): string {
    return newSpanId();
  }

  startRoot(tracer: Tracer, traceId: string, name: string, attributes: Attributes, parent: Context): Span {
    this.next = traceId;
    try {
      return tracer.startSpan(name, { kind: SpanKind.CONSUMER, attributes }, parent);
    } finally {
      this.next = undefined;
    }
  }
}

/** What a kept span is built from; the telemetry setup adds resource and scope and exports it. */
export type KeptSpan = Pick<ReadableSpan, "name" | "kind" | "parentSpanContext" | "startTime" | "endTime" | "status" | "attributes" | "events"> & { spanContext: SpanContext };

// What each tracer set up by ops/telemetry.ts needs for job spans: a tracer of somebody else's setup gets
// plain SDK spans.
interface JobSpanSetup {
  keep(span: KeptSpan): void;
  ids: JobSpanIds;
}
const setups = new WeakMap<Tracer, JobSpanSetup>();

export function registerJobSpans(tracer: Tracer, setup: JobSpanSetup): void {
  setups.set(tracer, setup);
}

/** A performance.now() reading as the epoch time spans carry. */
const hrTime = (now: number): HrTime => {
  const ms = performance.timeOrigin + now;
  return [Math.floor(ms / 1000), Math.round((ms % 1000) * 1e6)];
};
const hrNow = (): HrTime => hrTime(performance.now());

/**
 * A job's span: the SDK's when its trace is sampled, else a candidate for the tail rule — its ids, start time,
 * attributes, status and exception events, exported at end() only when sampling.decision was set on it.
 * `startedAt`: the performance.now() reading the caller took at the job's start (one clock read serves both).
 */
export function startJobSpan(tracer: Tracer, name: string, attributes: Attributes, parent: Context, startedAt: number): Span {
  const setup = setups.get(tracer);
  if (!setup) return tracer.startSpan(name, { kind: SpanKind.CONSUMER, attributes }, parent);
  const ratio = attributes[SAMPLING_RATIO];
  const r = typeof ratio === "number" ? ratio : 1;
  const p = trace.getSpanContext(parent);
  // The attributes object is the caller's own for this span (the runtime builds one per job): no copy.
  const attrs = attributes as Record<string, AttributeValue>;
  if (p && isSpanContextValid(p)) {
    if (p.traceFlags & TraceFlags.SAMPLED && keepsTrace(p.traceId, r)) return tracer.startSpan(name, { kind: SpanKind.CONSUMER, attributes }, parent);
    return new TailCandidate(setup.keep, name, { traceId: p.traceId, spanId: newSpanId(), traceFlags: TraceFlags.NONE }, p, attrs, startedAt);
  }
  const at = draw(16);
  const traceId = hexAt(at, 16);
  if (keeps(pool.readUInt32BE(at + 12), r)) return setup.ids.startRoot(tracer, traceId, name, attributes, parent);
  return new TailCandidate(setup.keep, name, { traceId, spanId: newSpanId(), traceFlags: TraceFlags.NONE }, undefined, attrs, startedAt);
}

// Shared by every candidate until one gets a status of its own: almost none ever does.
const UNSET: SpanStatus = Object.freeze({ code: SpanStatusCode.UNSET });

class TailCandidate implements Span {
  private status = UNSET;
  // Built by the first event: a candidate that records none (almost all) allocates none.
  private events?: TimedEvent[];
  private ended = false;

  constructor(
    private readonly keep: (span: KeptSpan) => void,
    private name: string,
    private readonly context: SpanContext,
    private readonly parent: SpanContext | undefined,
    private readonly attributes: Record<string, AttributeValue>,
    // A plain reading: almost every candidate is dropped, and only a kept one needs its epoch form.
    private readonly startedAt: number,
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
    (this.events ??= []).push({ name, time: hrNow(), ...(attributes ? { attributes } : {}), droppedAttributesCount: 0 });
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
    const { name, context: spanContext, parent: parentSpanContext, status, attributes } = this;
    this.keep({ name, kind: SpanKind.CONSUMER, spanContext, parentSpanContext, startTime: hrTime(this.startedAt), endTime: hrNow(), status, attributes, events: this.events ?? [] });
  }
}
