// Workflow transitions written as one batch (migration 050) follow the rules of one-at-a-time writes, in order.
import { afterAll, beforeAll, expect, it } from "vitest";
import { recordTransitions, workflowHistory, WORKFLOW_TYPE, type WorkflowTransition } from "../../db/repos/workflow.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/db.ts";

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db.drop();
});

it("a batch applies its transitions in order: a final status holds against later ones, every event is kept", async () => {
  const t = (workflowId: string, over: Partial<WorkflowTransition>): WorkflowTransition => ({
    workflowId, correlationId: `c-${workflowId}`, type: WORKFLOW_TYPE, phase: "enqueued", status: "pending", event: "pending", ...over,
  });
  await recordTransitions(db.pool, [
    t("run-a", { metadata: { assets: ["BTC-USD"] } }),
    t("run-b", {}),
    t("run-a", { phase: "BTC-USD:ema", status: "running", event: "completed" }),
    t("run-a", { phase: "done", status: "completed", event: "completed", final: true, metadata: { assets: { "BTC-USD": "completed" } } }),
    // Late, from another job of the run: neither demotes the finished run.
    t("run-a", { phase: "BTC-USD:quality", status: "running", event: "retrying" }),
    t("run-a", {}),
    t("run-b", { phase: "x".repeat(60), status: "running", event: "completed-and-then-some" }),
  ]);
  const [a] = await workflowHistory(db.pool, "c-run-a");
  expect(a).toMatchObject({ status: "completed", phase: "done", metadata: { assets: { "BTC-USD": "completed" } } });
  expect(a!.events.map((e) => [e.phase, e.status])).toEqual([
    ["enqueued", "pending"], ["BTC-USD:ema", "completed"], ["done", "completed"], ["BTC-USD:quality", "retrying"], ["enqueued", "pending"],
  ]);
  const [b] = await workflowHistory(db.pool, "c-run-b");
  expect(b).toMatchObject({ status: "running", phase: "x".repeat(50) });
  expect(b!.events.at(-1)).toMatchObject({ status: "completed-and-then-s" });
});
