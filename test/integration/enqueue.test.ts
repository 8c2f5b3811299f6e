import { ROOT_CONTEXT, trace, propagation, TraceFlags } from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { enqueue } from "../../queues/enqueue.ts";
import { PayloadError } from "../../queues/kind.ts";
import { KINDS, maintenanceKind, stageKind } from "../../queues/registry.ts";
import { testFleet, type TestFleet } from "../helpers/fleet.ts";

let tf: TestFleet;
beforeAll(() => {
  tf = testFleet("enq");
});
afterAll(() => tf.close());
afterEach(() => {
  propagation.disable();
});

describe("enqueue", () => {
  it("rejects an invalid payload naming the field path and value, and enqueues nothing", async () => {
    const bad = { stage: "ema", asset: "BTC-USD", asOf: "2022-13-01" };
    await expect(enqueue(tf.fleet, stageKind, bad)).rejects.toThrow(
      new PayloadError("stage", "asOf", "2022-13-01", "must be a real calendar date"),
    );
    await expect(enqueue(tf.fleet, stageKind, { ...bad, asOf: "2022-11-15", stage: "nope" })).rejects.toThrow(/stage payload invalid: stage: .*\(got "nope"\)/);
    await expect(enqueue(tf.fleet, stageKind, { ...bad, asOf: "2022-11-15", extra: 1 })).rejects.toThrow(/stage payload invalid: extra: unknown field \(got 1\)/);
    await expect(enqueue(tf.fleet, KINDS.backtest, { mode: "sweep-chunk", sweepId: "s", chunk: 0, asset: "X", strategy: "ema_cross", combos: [[5, "a"]], feeBps: 10 })).rejects.toThrow(
      /backtest payload invalid: combos\.0\.1: .*\(got "a"\)/,
    );
    expect(await tf.fleet.queue(stageKind).count()).toBe(0);
  });

  it("uses deterministic ids, so the same work enqueued twice is one job", async () => {
    const p = { stage: "ema" as const, asset: "BTC-USD", asOf: "2022-11-15" };
    const a = await enqueue(tf.fleet, stageKind, p);
    const b = await enqueue(tf.fleet, stageKind, p);
    expect(a.id).toBe("stage.ema.BTC-USD.2022-11-15");
    expect(b.id).toBe(a.id);
    expect(await tf.fleet.queue(stageKind).getJobCountByTypes("waiting")).toBe(1);
    expect((await enqueue(tf.fleet, stageKind, { ...p, rerun: 1 })).id).toBe("stage.ema.BTC-USD.2022-11-15.r1");
  });

  it("applies the kind's default options", async () => {
    const job = await enqueue(tf.fleet, maintenanceKind, { task: "smoke", id: "opts", message: "m" });
    expect(job.opts.attempts).toBe(maintenanceKind.jobOptions.attempts);
    expect(job.opts.backoff).toEqual({ type: "exponential", delay: 1000, jitter: 0.5 });
  });

  it("injects the parent's W3C trace context into the job data", async () => {
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    const spanContext = { traceId: "0af7651916cd43dd8448eb211c80319c", spanId: "b7ad6b7169203331", traceFlags: TraceFlags.SAMPLED };
    const ctx = trace.setSpanContext(ROOT_CONTEXT, spanContext);
    const job = await enqueue(tf.fleet, maintenanceKind, { task: "smoke", id: "traced", message: "m" }, {}, ctx);
    expect(job.data._otel).toEqual({ traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" });
    expect(job.data.message).toBe("m");
  });
});
