// The runtime's JobHooks with tracing and metrics: one CONSUMER span per job attempt, a child of the trace
// context in the job data (so a flow is one trace and a retry is a new span in it), and per-job metrics.
// Spans are head-sampled per kind (workers/sampling.ts, ops/telemetry-sampling.ts); an unsampled attempt
// that fails, is a retry, follows a stall or runs slow is kept at its end. Metrics count every job whatever
// the sampling. Runs on every job: instruments are bound once per (queue, job name) and reused, a span's
// attributes are built only when it is recorded or kept, and nothing here waits for I/O.
import { SpanStatusCode, trace, type Context, type Span, type SpanStatus, type Tracer } from "@opentelemetry/api";
import type { Job } from "bullmq";
// The module's, not the global: on Node 20 the global `performance` is a lazy getter run on every access.
import { performance } from "node:perf_hooks";
import type { Counter, Histogram, MetricsCollector } from "../ops/metrics/collector.ts";
import { JOB_METRICS } from "../ops/metrics/names.ts";
import { SAMPLING_DECISION, startJobSpan } from "../ops/telemetry-sampling.ts";
import { contextFromJobData } from "../queues/trace-context.ts";
import type { JobHooks, JobObservation, JobOutcome, SpanAttributes } from "./hooks.ts";
import { samplingPlan, type SamplingPlan, type TraceSampling } from "./sampling.ts";
import { workflowTransition, type WorkflowRecorder } from "./workflow-hooks.ts";

export interface TelemetryHooksOptions {
  /** Absent: metrics only. */
  tracer?: Tracer;
  metrics?: MetricsCollector;
  workflow?: Pick<WorkflowRecorder, "record">;
  /** Head-sampling ratio and slow threshold per job; default: the kinds' own declarations. */
  sampling?: SamplingPlan;
}

// Without a metrics collector the instruments still exist, so the per-job path has no branches.
const NOOP_COUNTER: Counter = {
  inc() {
    // metrics off
  },
};
const NOOP_HISTOGRAM: Histogram = {
  observe() {
    // metrics off
  },
};

/** Everything bound for one (queue, job name): created on its first job, then only looked up. */
class Instruments {
  readonly spanName: string;
  readonly wait: Histogram;
  readonly run: Histogram;
  readonly attempts: Histogram;
  readonly rows: Counter;
  /** Nearly every job's outcome: bound up front, the others on their first use. */
  readonly completed: Counter;
  private readonly outcomes = new Map<JobOutcome, Counter>();

  constructor(
    private readonly metrics: MetricsCollector | undefined,
    readonly queue: string,
    readonly job: string,
    readonly sampling: TraceSampling,
  ) {
    this.spanName = `${queue} ${job}`;
    const labels = { queue, job };
    this.wait = metrics?.histogram(JOB_METRICS.wait, labels) ?? NOOP_HISTOGRAM;
    this.run = metrics?.histogram(JOB_METRICS.run, labels) ?? NOOP_HISTOGRAM;
    this.attempts = metrics?.histogram(JOB_METRICS.attempts, labels) ?? NOOP_HISTOGRAM;
    this.rows = metrics?.counter(JOB_METRICS.rows, labels) ?? NOOP_COUNTER;
    this.completed = this.bind("completed");
  }

  outcome(o: JobOutcome): Counter {
    if (o === "completed") return this.completed;
    let c = this.outcomes.get(o);
    if (!c) this.outcomes.set(o, (c = this.bind(o)));
    return c;
  }

  private bind(o: JobOutcome): Counter {
    return this.metrics?.counter(JOB_METRICS.outcomes, { queue: this.queue, job: this.job, outcome: o }) ?? NOOP_COUNTER;
  }
}

interface LlmUsage {
  provider: string;
  model: string;
  inputTokens: number;
  outputTokens: number;
}
const isLlmUsage = (r: unknown): r is LlmUsage => typeof (r as LlmUsage)?.provider === "string" && typeof (r as LlmUsage).inputTokens === "number";

const OK: SpanStatus = Object.freeze({ code: SpanStatusCode.OK });

class Observation implements JobObservation {
  private spanContext?: Context;

  constructor(
    private readonly hooks: TelemetryJobHooks,
    private readonly ins: Instruments,
    private readonly job: Job,
    private readonly attempt: number,
    private readonly span: Span | undefined,
    private readonly parent: Context,
    private readonly t0: number,
  ) {}

  // Read on demand: an unsampled span draws its ids only when something asks for them.
  get traceId(): string | undefined {
    return this.span?.spanContext().traceId;
  }

  // Only processors that enqueue read it: most jobs never build this context.
  get context(): Context | undefined {
    return this.span && (this.spanContext ??= trace.setSpan(this.parent, this.span));
  }

  end(outcome: JobOutcome, info: { error?: unknown; result?: unknown; attributes?: Record<string, unknown> }): void {
    const ms = performance.now() - this.t0;
    const { ins, span, attempt } = this;
    ins.outcome(outcome).inc();
    const finished = outcome === "completed" || outcome === "failed";
    if (finished || outcome === "retrying") ins.run.observe(ms);
    if (finished) ins.attempts.observe(attempt);
    const rows = (info.result as { rowsWritten?: unknown } | undefined)?.rowsWritten;
    if (typeof rows === "number") ins.rows.inc(rows);
    const llm = isLlmUsage(info.result) ? info.result : undefined;
    if (llm) this.hooks.llm(llm, ms);
    // A span nobody will see (unsampled, and nothing the tail rule keeps) is left as it is: dropped undressed.
    if (span && (span.isRecording() || this.keptByTail(span, outcome, ms))) dress(span, outcome, info, rows, llm);
    this.hooks.workflow(ins.queue, this.job, outcome, info.result, this, attempt);
  }

  private keptByTail(span: Span, outcome: JobOutcome, ms: number): boolean {
    const keep = tailReason(outcome, this.job, this.attempt, ms, this.ins.sampling.slowMs);
    if (keep) span.setAttribute(SAMPLING_DECISION, `tail:${keep}`);
    return keep !== undefined;
  }
}

function dress(span: Span, outcome: JobOutcome, info: { error?: unknown; attributes?: Record<string, unknown> }, rows: unknown, llm: LlmUsage | undefined): void {
  if (typeof rows === "number") span.setAttribute("rows.written", rows);
  if (llm) span.setAttributes({ "llm.provider": llm.provider, "llm.model": llm.model, "llm.input_tokens": llm.inputTokens, "llm.output_tokens": llm.outputTokens });
  if (info.attributes) span.setAttributes(info.attributes as SpanAttributes);
  span.setAttribute("job.outcome", outcome);
  if (info.error !== undefined && (outcome === "failed" || outcome === "retrying")) {
    const err = info.error instanceof Error ? info.error : new Error(String(info.error));
    span.recordException(err);
    span.setStatus({ code: SpanStatusCode.ERROR, message: err.message });
  } else if (outcome === "completed") span.setStatus(OK);
  span.end();
}

// Why an attempt whose trace was not sampled is kept: what an operator looks for is never sampled away.
function tailReason(outcome: JobOutcome, job: Job, attempt: number, ms: number, slowMs: number): string | undefined {
  if (outcome === "failed" || outcome === "retrying") return "failed";
  if (attempt > 1) return "retry";
  if (job.stalledCounter > 0) return "stalled";
  if (ms > slowMs) return "slow";
  return undefined;
}

class TelemetryJobHooks implements JobHooks {
  // Queue, then job name: no key string built per job.
  private readonly instruments = new Map<string, Map<string, Instruments>>();
  private readonly llmInstruments = new Map<string, { input: Counter; output: Counter; latency: Histogram }>();
  private readonly sampling: SamplingPlan;

  constructor(private readonly opts: TelemetryHooksOptions) {
    this.sampling = opts.sampling ?? samplingPlan();
  }

  onJobStart(job: Job, kind: string, attributes: () => SpanAttributes): JobObservation {
    let byName = this.instruments.get(kind);
    if (!byName) this.instruments.set(kind, (byName = new Map()));
    let ins = byName.get(job.name);
    if (!ins) byName.set(job.name, (ins = new Instruments(this.opts.metrics, kind, job.name, this.sampling(kind, job.name))));
    const t0 = performance.now();
    const attempt = job.attemptsMade + 1;
    // Queue wait of the first attempt only: a retry's wait is mostly its backoff delay.
    if (attempt === 1 && job.processedOn) ins.wait.observe(Math.max(0, job.processedOn - job.timestamp - (job.opts.delay ?? 0)));
    const parent = contextFromJobData(job.data);
    const span = this.opts.tracer && startJobSpan(this.opts.tracer, ins.spanName, ins.sampling.ratio, attributes, parent, t0);
    return new Observation(this, ins, job, attempt, span, parent, t0);
  }

  llm(r: LlmUsage, ms: number): void {
    const m = this.opts.metrics;
    if (!m) return;
    const key = `${r.provider}\u0000${r.model}`;
    let i = this.llmInstruments.get(key);
    if (!i) {
      const l = { provider: r.provider, model: r.model };
      i = { input: m.counter(JOB_METRICS.llmTokens, { ...l, direction: "input" }), output: m.counter(JOB_METRICS.llmTokens, { ...l, direction: "output" }), latency: m.histogram(JOB_METRICS.llmLatency, l) };
      this.llmInstruments.set(key, i);
    }
    i.input.inc(r.inputTokens);
    i.output.inc(r.outputTokens);
    i.latency.observe(ms);
  }

  workflow(queue: string, job: Job, outcome: JobOutcome, result: unknown, obs: { readonly traceId?: string }, attempt: number): void {
    if (!this.opts.workflow) return;
    const t = workflowTransition(queue, job, outcome, result, obs, attempt);
    if (t) this.opts.workflow.record(t);
  }
}

export function telemetryHooks(opts: TelemetryHooksOptions): JobHooks {
  return new TelemetryJobHooks(opts);
}
