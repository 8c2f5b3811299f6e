import { describe, expect, it } from "vitest";
import { workflowTransition } from "../../workers/workflow-hooks.ts";

const TRACE = "0af7651916cd43dd8448eb211c80319c";
const OBS = { traceId: TRACE };
const job = (name: string, data: Record<string, unknown>, id = "j1") => ({ id, name, data });

describe("workflow transitions from job outcomes", () => {
  it("the scheduler's trigger creates the run as pending, keyed by run id and correlated by trace id", () => {
    const t = workflowTransition("maintenance", job("daily-refresh", { task: "daily-refresh", assets: ["AAA"] }), "completed", { runId: "2022-11-15-ab", rootJobId: "run.2022-11-15-ab", created: true }, OBS, 1);
    expect(t).toEqual({
      workflowId: "2022-11-15-ab",
      correlationId: TRACE,
      type: "daily-refresh",
      phase: "enqueued",
      status: "pending",
      event: "pending",
      metadata: { rootJobId: "run.2022-11-15-ab", assets: ["AAA"] },
    });
    // A run that already existed adds nothing.
    expect(workflowTransition("maintenance", job("daily-refresh", {}), "completed", { runId: "r", created: false }, OBS, 1)).toBeUndefined();
  });

  it("each finished step is a running transition named by asset and step", () => {
    const stage = workflowTransition("stage", job("ema", { stage: "ema", asset: "AAA", runId: "r1" }, "stage.ema.AAA"), "completed", { rowsWritten: 3 }, OBS, 1);
    expect(stage).toMatchObject({ workflowId: "r1", phase: "AAA:ema", status: "running", event: "completed", eventMetadata: { jobId: "stage.ema.AAA", attempt: 1 } });
    expect(workflowTransition("stage", job("ema", { stage: "ema", asset: "AAA", runId: "r1" }), "retrying", undefined, OBS, 1)).toMatchObject({ event: "retrying", status: "running" });
    expect(workflowTransition("flow", job("gate-strategies", { node: "gate", gate: "strategies", asset: "AAA", runId: "r1" }), "completed", {}, OBS, 1)).toMatchObject({ phase: "AAA:gate-strategies" });
    expect(workflowTransition("backtest", job("signal", { mode: "signal", signalId: 7, asset: "AAA", runId: "r1" }), "failed", undefined, OBS, 3)).toMatchObject({ phase: "AAA:backtest-7", event: "failed" });
    expect(workflowTransition("flow", job("asset", { node: "asset", asset: "AAA", runId: "r1" }), "completed", { asset: "AAA", status: "partial" }, OBS, 1)).toMatchObject({ phase: "AAA:summary", event: "partial" });
  });

  it("the run root ends the run with its summary's status", () => {
    const t = workflowTransition("flow", job("run", { node: "run", runId: "r1" }), "completed", { runId: "r1", status: "partial", assets: [{ asset: "AAA", status: "completed" }, { asset: "BBB", status: "failed" }] }, OBS, 1);
    expect(t).toMatchObject({ phase: "done", status: "partial", event: "partial", final: true, metadata: { assets: { AAA: "completed", BBB: "failed" } } });
    expect(workflowTransition("flow", job("run", { node: "run", runId: "r1" }), "failed", undefined, OBS, 2)).toMatchObject({ status: "failed", final: true });
  });

  it("ignores control-flow outcomes and jobs outside a run; falls back to the run id without a trace", () => {
    expect(workflowTransition("flow", job("gate-indicators", { node: "gate", runId: "r1" }), "waiting-children", undefined, OBS, 1)).toBeUndefined();
    expect(workflowTransition("llm", job("llm-task", { runId: "r1" }), "completed", {}, OBS, 1)).toBeUndefined();
    expect(workflowTransition("stage", job("ema", { stage: "ema", asset: "AAA" }), "completed", {}, OBS, 1)).toBeUndefined();
    expect(workflowTransition("stage", job("ema", { stage: "ema", asset: "AAA", runId: "r1" }), "completed", {}, {}, 1)?.correlationId).toBe("r1");
  });

  it("reads the trace id only for a job that is a step of a run (drawing an unsampled job's ids costs)", () => {
    let reads = 0;
    const counted = {
      get traceId() {
        reads++;
        return TRACE;
      },
    };
    expect(workflowTransition("maintenance", job("smoke", { task: "smoke" }), "completed", {}, counted, 1)).toBeUndefined();
    expect(workflowTransition("stage", job("ema", { stage: "ema", asset: "AAA" }), "completed", {}, counted, 1)).toBeUndefined();
    expect(reads).toBe(0);
    expect(workflowTransition("stage", job("ema", { stage: "ema", asset: "AAA", runId: "r1" }), "completed", {}, counted, 1)?.correlationId).toBe(TRACE);
    expect(reads).toBe(1);
  });
});
