// Head sampling per kind (whole traces, by trace id), the tail rule that keeps what matters, and the plan
// TRACE_SAMPLING and the kinds' declarations make. Spans go to an in-memory exporter through the real
// telemetry setup (sampler, tail-kept spans joining the batch processor); jobs are plain objects shaped like
// BullMQ's.
import { ROOT_CONTEXT, SpanStatusCode, trace, type Context } from "@opentelemetry/api";
import { InMemorySpanExporter, type ReadableSpan } from "@opentelemetry/sdk-trace-base";
import type { Job } from "bullmq";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parseConfig } from "../../ops/config.ts";
import { initTelemetry, type Telemetry } from "../../ops/telemetry.ts";
import { keepsTrace } from "../../ops/telemetry-sampling.ts";
import { withTrace } from "../../queues/trace-context.ts";
import type { JobOutcome } from "../../workers/hooks.ts";
import { samplingPlan } from "../../workers/sampling.ts";
import { telemetryHooks } from "../../workers/telemetry-hooks.ts";

let exporter: InMemorySpanExporter;
let telemetry: Telemetry;
beforeEach(() => {
  exporter = new InMemorySpanExporter();
  telemetry = initTelemetry({ service: "test", exporter, scheduledDelayMs: 10 });
});
afterEach(async () => {
  await telemetry.shutdown();
});

const job = (name: string, data: object, extra: Partial<Job> = {}) => ({ id: `${name}-${Math.random()}`, name, data, attemptsMade: 0, stalledCounter: 0, timestamp: Date.now(), opts: {}, ...extra }) as unknown as Job;

/** Runs one job through the hooks: start, then end with `outcome`; returns its trace context for children. */
function runJob(hooks: ReturnType<typeof telemetryHooks>, queue: string, j: Job, outcome: JobOutcome = "completed"): Context {
  const obs = hooks.onJobStart(j, queue, () => ({ queue, "job.name": j.name, "job.id": j.id! }));
  const ctx = obs.context!;
  obs.end(outcome, outcome === "failed" ? { error: new Error("boom") } : {});
  return ctx;
}

async function exported(): Promise<ReadableSpan[]> {
  await telemetry.forceFlush();
  return exporter.getFinishedSpans();
}

describe("head sampling", () => {
  it("keeps about its ratio of traces, marks each kept span with the ratio and the decision", async () => {
    const hooks = telemetryHooks({ tracer: telemetry.tracer, sampling: samplingPlan({ maintenance: 0.25 }) });
    for (let i = 0; i < 2_000; i++) runJob(hooks, "maintenance", job("smoke", {}));
    const spans = await exported();
    expect(spans.length).toBeGreaterThan(400);
    expect(spans.length).toBeLessThan(600);
    for (const s of spans) expect(s.attributes).toMatchObject({ "sampling.ratio": 0.25, "sampling.decision": "head" });
  });

  it("decides per trace: a job's children are kept exactly when their parent is", async () => {
    const hooks = telemetryHooks({ tracer: telemetry.tracer, sampling: samplingPlan({ maintenance: 0.5 }) });
    const parents: string[] = [];
    for (let i = 0; i < 200; i++) {
      const root = trace.getSpanContext(runJob(hooks, "maintenance", job("daily-refresh", {})))!;
      parents.push(root.traceId);
      // The children the parent enqueued: its context travels in their job data, as in a flow.
      const parentCtx = trace.setSpanContext(ROOT_CONTEXT, root);
      for (let c = 0; c < 3; c++) runJob(hooks, "maintenance", job("smoke", withTrace({}, parentCtx)));
    }
    const byTrace = new Map<string, number>();
    for (const s of await exported()) byTrace.set(s.spanContext().traceId, (byTrace.get(s.spanContext().traceId) ?? 0) + 1);
    expect(byTrace.size).toBeGreaterThan(50);
    expect(byTrace.size).toBeLessThan(150);
    for (const n of byTrace.values()) expect(n).toBe(4);
  });

  it("a lower ratio further down a sampled trace keeps or drops all of that kind's jobs in the trace together", async () => {
    const hooks = telemetryHooks({ tracer: telemetry.tracer, sampling: samplingPlan({ backtest: 1, "backtest:sweep-chunk": 0.3 }) });
    for (let i = 0; i < 100; i++) {
      const root = runJob(hooks, "backtest", job("sweep-rank", {}));
      for (let c = 0; c < 4; c++) runJob(hooks, "backtest", job("sweep-chunk", withTrace({}, root)));
    }
    const chunks = new Map<string, number>();
    const spans = await exported();
    for (const s of spans.filter((x) => x.name === "backtest sweep-chunk")) chunks.set(s.spanContext().traceId, (chunks.get(s.spanContext().traceId) ?? 0) + 1);
    expect(spans.filter((x) => x.name === "backtest sweep-rank")).toHaveLength(100);
    expect(chunks.size).toBeGreaterThan(10);
    expect(chunks.size).toBeLessThan(60);
    for (const n of chunks.values()) expect(n).toBe(4);
  });
});

describe("job span ids", () => {
  it("are well-formed and distinct, and a root's decision is keepsTrace of its trace id", async () => {
    const hooks = telemetryHooks({ tracer: telemetry.tracer, sampling: samplingPlan({ maintenance: 0.5 }) });
    // Failed: the unsampled ones are kept by the tail rule, so both decisions are exported.
    for (let i = 0; i < 600; i++) runJob(hooks, "maintenance", job("smoke", {}), "failed");
    const spans = await exported();
    expect(spans).toHaveLength(600);
    const ids = spans.map((s) => s.spanContext());
    for (const { traceId, spanId } of ids) {
      expect(traceId).toMatch(/^[0-9a-f]{32}$/);
      expect(spanId).toMatch(/^[0-9a-f]{16}$/);
    }
    expect(new Set(ids.map((c) => c.traceId)).size).toBe(600);
    expect(new Set(ids.map((c) => c.spanId)).size).toBe(600);
    const head = spans.filter((s) => s.attributes["sampling.decision"] === "head");
    expect(head.length).toBeGreaterThan(200);
    expect(head.length).toBeLessThan(400);
    for (const s of spans) expect(keepsTrace(s.spanContext().traceId, 0.5)).toBe(s.attributes["sampling.decision"] === "head");
  });
});

describe("tail rule: an unsampled job is kept when it matters", () => {
  const cases: Array<[string, Partial<Job>, JobOutcome, string | undefined]> = [
    ["fails", {}, "failed", "tail:failed"],
    ["fails and will be retried", {}, "retrying", "tail:failed"],
    ["is a retry", { attemptsMade: 1 }, "completed", "tail:retry"],
    ["follows a stall", { stalledCounter: 1 }, "completed", "tail:stalled"],
    ["succeeds at once", {}, "completed", undefined],
    ["is deferred by an outage", {}, "delayed", undefined],
  ];
  it.each(cases)("a job that %s", async (_, extra, outcome, decision) => {
    const hooks = telemetryHooks({ tracer: telemetry.tracer, sampling: samplingPlan({ "*": 0 }) });
    const parent = trace.getSpanContext(runJob(hooks, "stage", job("ema", {})))!;
    runJob(hooks, "stage", job("ema", withTrace({}, trace.setSpanContext(ROOT_CONTEXT, parent)), extra), outcome);
    const spans = await exported();
    if (!decision) return void expect(spans).toEqual([]);
    expect(spans).toHaveLength(1);
    // The trace id and parent it would have had: the run page finds it under the run's trace.
    expect(spans[0]!.spanContext().traceId).toBe(parent.traceId);
    expect(spans[0]!.parentSpanContext?.spanId).toBe(parent.spanId);
    expect(spans[0]!.attributes).toMatchObject({ "sampling.ratio": 0, "sampling.decision": decision, "job.outcome": outcome });
    if (outcome === "failed") {
      expect(spans[0]!.status).toEqual({ code: SpanStatusCode.ERROR, message: "boom" });
      expect(spans[0]!.events.map((e) => [e.name, e.attributes?.["exception.message"]])).toEqual([["exception", "boom"]]);
    }
    expect(spans[0]!.endTime[0] * 1e9 + spans[0]!.endTime[1]).toBeGreaterThanOrEqual(spans[0]!.startTime[0] * 1e9 + spans[0]!.startTime[1]);
  });

  it("a job that runs longer than its kind's slow threshold", async () => {
    const slowMs = 30;
    const hooks = telemetryHooks({ tracer: telemetry.tracer, sampling: () => ({ ratio: 0, slowMs }) });
    const obs = hooks.onJobStart(job("ema", {}), "stage", () => ({ queue: "stage" }));
    const t0 = performance.now();
    // A busy wait: the threshold is measured on the job's own clock, and a timer would only add noise.
    while (performance.now() - t0 < slowMs + 5);
    obs.end("completed", {});
    expect((await exported()).map((s) => s.attributes["sampling.decision"])).toEqual(["tail:slow"]);
  });
});

describe("the sampling plan", () => {
  it("takes TRACE_SAMPLING queue:job, then queue, then *, then the kind's job entry, then the kind's *", () => {
    expect(samplingPlan()("maintenance", "smoke").ratio).toBe(0.01);
    expect(samplingPlan()("maintenance", "daily-refresh").ratio).toBe(1);
    expect(samplingPlan()("backtest", "sweep-chunk").ratio).toBe(0.1);
    expect(samplingPlan()("stage", "ema")).toEqual({ ratio: 1, slowMs: 120_000 });
    const plan = samplingPlan({ "*": 0.5, maintenance: 0.2, "maintenance:smoke": 0.3 });
    expect([plan("maintenance", "smoke").ratio, plan("maintenance", "daily-refresh").ratio, plan("stage", "ema").ratio, plan("backtest", "sweep-chunk").ratio]).toEqual([0.3, 0.2, 0.5, 0.5]);
  });

  it("refuses a queue that does not exist and a job name under *, naming TRACE_SAMPLING", () => {
    expect(() => samplingPlan({ stages: 0.1 })).toThrow(/TRACE_SAMPLING: unknown queue "stages" in "stages"/);
    expect(() => samplingPlan({ "*:smoke": 0.1 })).toThrow(/TRACE_SAMPLING: "\*" stands for every job/);
  });

  it("config parses TRACE_SAMPLING into ratios and names the key for a bad one", () => {
    expect(parseConfig({ TRACE_SAMPLING: "maintenance:smoke=0.5,*=1" }).TRACE_SAMPLING).toEqual({ "maintenance:smoke": 0.5, "*": 1 });
    expect(() => parseConfig({ TRACE_SAMPLING: "maintenance=1.5" })).toThrow(/TRACE_SAMPLING: ratio of maintenance must be a number from 0 to 1, got "1.5"/);
    expect(() => parseConfig({ TRACE_SAMPLING: "maintenance" })).toThrow(/TRACE_SAMPLING: must look like/);
    expect(parseConfig({}).SPAN_RETENTION_DAYS).toBe(14);
    expect(() => parseConfig({ SPAN_RETENTION_DAYS: "0" })).toThrow(/SPAN_RETENTION_DAYS/);
  });
});
