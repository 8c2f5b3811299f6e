// Head sampling that keeps or drops a trace as a whole, and the tail rule that still keeps what matters.
// A job span carries its kind's ratio (attribute sampling.ratio, set here). The decision is a function of the
// trace id (keepsTrace), so the jobs of one trace that share a ratio decide alike, and a span whose parent was
// dropped is dropped with it.
// Job spans are decided here, before the SDK: a dropped one costs next to nothing — no SDK span, its ids only
// once something reads them (the jobs it enqueues name it as their parent) and a small record of what the
// hooks set on it — and when the job ends failed, retried, stalled or slow the hooks mark it
// (sampling.decision) and it is exported after all, with the trace id and parent it would have had. Imports
// nothing of ours.
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
  return keepsLow(parseInt(traceId.slice(24), 16), ratio);
}

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

// Ids are cut from a pool of random bytes refilled in one call: formatting numbers as hex per id costs more
// than the rest of the hooks together. The last byte is made odd so no id is the invalid all-zero one.
const pool = Buffer.alloc(4_096);
let used = pool.length;
function randomHex(bytes: number): string {
  if (used + bytes > pool.length) {
    randomFillSync(pool);
    used = 0;
  }
  pool[used + bytes - 1]! |= 1;
  const id = pool.toString("hex", used, used + bytes);
  used += bytes;
  return id;
}
const newTraceId = (): string => randomHex(16);
const newSpanId = (): string => randomHex(8);

// A root job is decided on the random low 32 bits of its trace id alone (what keepsTrace reads), drawn before
// the id exists: the id, built only when something asks for it, ends in those bits, so it decides alike.
const words = new Uint32Array(1_024);
let word = words.length;
function randomLow(): number {
  if (word === words.length) {
    randomFillSync(words);
    word = 0;
  }
  return words[word++]!;
}
const rootTraceId = (low: number): string => randomHex(12) + low.toString(16).padStart(8, "0");
const keepsLow = (low: number, ratio: number): boolean => ratio >= 1 || low < ratio * 2 ** 32;

const sdkSpan = (tracer: Tracer, name: string, attributes: Attributes, parent: Context): Span => tracer.startSpan(name, { kind: SpanKind.CONSUMER, attributes }, parent);

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
      return sdkSpan(tracer, name, attributes, parent);
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
 * A job's span: the SDK's when its trace is sampled, else a candidate for the tail rule — its start time and
 * what the hooks set on it, exported at end() only when sampling.decision was set on it. `attributes` is called
 * only for a span that is recorded or kept, and a candidate's ids are drawn only when something reads them (the
 * context its job enqueues children with, a log line, a kept span): most unsampled jobs need neither.
 */
export function startJobSpan(tracer: Tracer, name: string, ratio: number, attributes: () => Record<string, AttributeValue>, parent: Context, startedAt: number): Span {
  const setup = setups.get(tracer);
  if (!setup) return sdkSpan(tracer, name, withRatio(attributes(), ratio), parent);
  const p = trace.getSpanContext(parent);
  if (p && isSpanContextValid(p)) {
    if (p.traceFlags & TraceFlags.SAMPLED && keepsTrace(p.traceId, ratio)) return sdkSpan(tracer, name, withRatio(attributes(), ratio), parent);
    return new TailCandidate(setup.keep, name, p, 0, ratio, attributes, startedAt);
  }
  const low = randomLow();
  if (keepsLow(low, ratio)) return setup.ids.startRoot(tracer, rootTraceId(low), name, withRatio(attributes(), ratio), parent);
  return new TailCandidate(setup.keep, name, undefined, low, ratio, attributes, startedAt);
}

// The attributes object is the caller's own for this span (built per job): no copy.
function withRatio(attributes: Record<string, AttributeValue>, ratio: number): Record<string, AttributeValue> {
  attributes[SAMPLING_RATIO] = ratio;
  return attributes;
}

const UNSET: SpanStatus = Object.freeze({ code: SpanStatusCode.UNSET });

class TailCandidate implements Span {
  private context?: SpanContext;
  private attrs?: Record<string, AttributeValue>;
  private status = UNSET;
  private events?: TimedEvent[];
  private ended = false;

  constructor(
    private readonly keep: (span: KeptSpan) => void,
    private name: string,
    private readonly parent: SpanContext | undefined,
    /** A root's trace id bits, when it has no parent. */
    private readonly low: number,
    private readonly ratio: number,
    private readonly build: () => Record<string, AttributeValue>,
    /** A performance.now() reading: only a kept candidate needs its epoch form. */
    private readonly startedAt: number,
  ) {}

  spanContext(): SpanContext {
    return (this.context ??= { traceId: this.parent?.traceId ?? rootTraceId(this.low), spanId: newSpanId(), traceFlags: TraceFlags.NONE });
  }

  private get attributes(): Record<string, AttributeValue> {
    return (this.attrs ??= withRatio(this.build(), this.ratio));
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
    if (typeof this.attrs?.[SAMPLING_DECISION] !== "string") return;
    const { name, parent: parentSpanContext, status, attributes } = this;
    this.keep({ name, kind: SpanKind.CONSUMER, spanContext: this.spanContext(), parentSpanContext, startTime: hrTime(this.startedAt), endTime: hrNow(), status, attributes, events: this.events ?? [] });
  }
}
