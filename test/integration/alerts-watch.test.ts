// Event rules as things happen, with real workers: a job failing after its last attempt (once, not per
// attempt), an unrecoverable failure, a stalled job, flow runs ending partial and then completed, a real
// run's failure named by its root cause — and events that happen while the watcher is down are handled
// when it starts again.
import { Worker } from "bullmq";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { AlertRow } from "../../db/repos/alerts.ts";
import { createAlerting, type Alerting } from "../../alerts/alerting.ts";
import { EventWatcher } from "../../alerts/watch.ts";
import { parseConfig } from "../../ops/config.ts";
import { closeRedis, createRedis } from "../../queues/connection.ts";
import { enqueue } from "../../queues/enqueue.ts";
import { dailyRefresh } from "../../queues/flows/daily-refresh.ts";
import type { RunSummary } from "../../queues/kinds/flow.ts";
import { backtestKind, flowKind, signalKind, stageKind } from "../../queues/registry.ts";
import { PermanentError } from "../../workers/errors.ts";
import { flowProcessor } from "../../workers/flow/index.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/db.ts";
import { testFleet, type TestFleet } from "../helpers/fleet.ts";
import { memoryLogger } from "../helpers/log.ts";
import { redisUrl } from "../helpers/redis.ts";
import { poll } from "../helpers/wait.ts";

let db: TestDatabase;
let tf: TestFleet;
let alerting: Alerting;
const watchers: EventWatcher[] = [];
const logs = memoryLogger();

beforeEach(async () => {
  db = await createTestDatabase();
  tf = testFleet("alerts-watch");
  alerting = createAlerting({ cfg: parseConfig({}), log: logs.log, pool: db.pool, fleet: tf.fleet });
});
afterEach(async () => {
  await Promise.allSettled(watchers.splice(0).map((w) => w.close()));
  await Promise.allSettled([tf.close(), db.drop()]);
});

async function watch(): Promise<EventWatcher> {
  const w = new EventWatcher({ fleet: tf.fleet, redisUrl: redisUrl(), log: logs.log, onEvent: alerting.onEvent, blockMs: 200 }).start();
  watchers.push(w);
  await w.ready;
  return w;
}

async function alert(key: string, match: (r: AlertRow) => boolean = () => true): Promise<AlertRow> {
  return poll(async () => {
    const { rows } = await db.pool.query<AlertRow>("SELECT * FROM observability.alerts WHERE alert_key = $1 ORDER BY alert_id DESC LIMIT 1", [key]);
    return rows[0] && match(rows[0]) ? rows[0] : undefined;
  }, `alert ${key}`);
}

const stage = (name: "ema" | "ta", asset: string) => ({ stage: name, asset, asOf: "2026-11-21" });

describe("event rules", () => {
  it("a job failing after its last attempt alerts once; an unrecoverable failure alerts at once", async () => {
    await watch();
    const attemptsSeen: string[] = [];
    await tf.worker(stageKind, async (p, ctx) => {
      attemptsSeen.push(`${p.stage}#${ctx.attempt}`);
      if (p.stage === "ta") throw new PermanentError("bars missing for TA");
      throw new Error("upstream 503");
    });
    await enqueue(tf.fleet, stageKind, stage("ema", "BTC-USD"), { attempts: 3, backoff: { type: "fixed", delay: 20 } });
    const ema = await alert("job-failed:stage:ema");
    expect(ema).toMatchObject({ alert_type: "job-failed", severity: "warning", repeat_count: 1, component: "queue:stage" });
    expect(ema.message).toContain("attempts: 3 of 3");
    expect(ema.message).toContain("reason: upstream 503");
    expect(ema.message).toContain("job: stage.ema.BTC-USD.2026-11-21");
    expect(attemptsSeen.filter((a) => a.startsWith("ema"))).toEqual(["ema#1", "ema#2", "ema#3"]);

    await enqueue(tf.fleet, stageKind, stage("ta", "BTC-USD"));
    const ta = await alert("job-failed:stage:ta");
    expect(ta.message).toContain("attempts: 1 of 3");
    expect(ta.message).toContain("bars missing for TA");
    expect((await alert("job-failed:stage:ema")).repeat_count).toBe(1);
  });

  it("a parent failed by its child's failure (failParentOnFailure) leaves the alert to the child", async () => {
    await watch();
    await tf.worker(stageKind, async (p) => {
      if (p.stage === "ta") throw new PermanentError("child broke");
      return { stage: p.stage, asset: p.asset, rowsWritten: 0 };
    });
    await tf.fleet.flowProducer().add({
      name: "ema",
      queueName: stageKind.name,
      prefix: tf.prefix,
      data: stage("ema", "LINK-USD"),
      children: [{ name: "ta", queueName: stageKind.name, prefix: tf.prefix, data: stage("ta", "LINK-USD"), opts: { failParentOnFailure: true } }],
    });
    await alert("job-failed:stage:ta");
    await poll(async () => (await tf.fleet.queue(stageKind).getFailedCount()) === 2 || undefined, "parent to fail too");
    // The watcher handles events in order: once a later event is alerted, the parent's failure was seen.
    await enqueue(tf.fleet, stageKind, stage("ta", "UNI-USD"));
    await alert("job-failed:stage:ta", (r) => r.repeat_count === 2);
    const { rows } = await db.pool.query("SELECT alert_key FROM observability.alerts");
    expect(rows).toEqual([{ alert_key: "job-failed:stage:ta" }]);
  });

  it("repeated failures of the same job escalate to critical after more than 3", async () => {
    await watch();
    await tf.worker(stageKind, async () => {
      throw new PermanentError("provider down");
    });
    for (const asset of ["A1", "A2", "A3", "A4"]) await enqueue(tf.fleet, stageKind, stage("ema", asset));
    const row = await alert("job-failed:stage:ema", (r) => r.repeat_count === 4);
    expect(row.severity).toBe("critical");
  });

  it("a stalled job (its worker lost the lock) alerts", async () => {
    await watch();
    const conn = createRedis(redisUrl(), "test-stalled");
    // A worker that takes a job and then goes silent: its 300 ms lock expires.
    const silent = new Worker(stageKind.name, undefined, { connection: conn, prefix: tf.prefix, lockDuration: 300 });
    try {
      await enqueue(tf.fleet, stageKind, stage("ema", "ETH-USD"));
      expect(await silent.getNextJob("silent-token")).toBeDefined();
      await tf.worker(stageKind, async (p) => ({ stage: p.stage, asset: p.asset, rowsWritten: 0 }), { stalledIntervalMs: 200 });
      const row = await alert("job-stalled:stage");
      expect(row.message).toContain("job stage.ema.ETH-USD.2026-11-21 (ema) lost its lock");
    } finally {
      await silent.close(true);
      await closeRedis(conn);
    }
  });

  it("a flow run ending partial alerts; the next completed run resolves it", async () => {
    await watch();
    await tf.worker(flowKind, async (p): Promise<RunSummary> => {
      if (p.node !== "run") throw new Error("only run roots here");
      const bad = p.assets.includes("SPY");
      return {
        runId: p.runId,
        asOf: p.asOf,
        status: bad ? "partial" : "completed",
        assets: p.assets.map((asset) => (asset === "SPY" ? { asset, status: "failed", failedAt: "ema", reason: "no bars" } : { asset, status: "completed" })),
      };
    });
    await enqueue(tf.fleet, flowKind, { node: "run", runId: "r1", asOf: "2026-11-21", assets: ["BTC-USD", "SPY"] });
    const partial = await alert("flow-run:daily-refresh");
    expect(partial).toMatchObject({ severity: "warning", resolved_at: null });
    expect(partial.message).toContain("SPY: failed at ema: no bars");
    await enqueue(tf.fleet, flowKind, { node: "run", runId: "r2", asOf: "2026-11-22", assets: ["BTC-USD"] });
    const resolved = await alert("flow-run:daily-refresh", (r) => r.resolved_at !== null);
    expect(resolved.alert_id).toBe(partial.alert_id);
  });

  it("a daily-refresh run with a failed strategy alerts with the root cause, its job and the strategy's name", async () => {
    await watch();
    const names = new Map([[1, "ema_9_21"], [2, "broken"]]);
    await tf.worker(flowKind, flowProcessor({ fleet: tf.fleet, activeSignalIds: async () => [...names.keys()], signalNames: async () => names }));
    await tf.worker(stageKind, async (p) => ({ stage: p.stage, asset: p.asset, rowsWritten: 1 }));
    await tf.worker(signalKind, async (p) => {
      if (p.signalId === 2) throw new PermanentError("dim_signals 2 (broken): params.slow: must be greater than fast (got 10)");
      return { signalId: p.signalId, asset: p.asset, signalType: "test", rowsWritten: 1, featureVersionHash: "0", openPositions: 0 };
    });
    await tf.worker(backtestKind, async () => ({ mode: "signal" as const }));
    const { runId } = await dailyRefresh(tf.fleet, ["AAA"], "2026-11-21");
    const row = await alert("flow-run:daily-refresh");
    expect(row.severity).toBe("warning");
    expect(row.message.split("\n")).toEqual([
      "status: partial (1 of 1 assets not completed)",
      `run: ${runId}`,
      "AAA: partial at strategy broken (#2): dim_signals 2 (broken): params.slow: must be greater than fast (got 10) (job signal/signal.2.AAA.2026-11-21)",
    ]);
  });

  it("events while the watcher is down are handled when it starts again", async () => {
    const first = await watch();
    await first.close();
    await tf.worker(stageKind, async () => {
      throw new PermanentError("while nobody watched");
    });
    const job = await enqueue(tf.fleet, stageKind, stage("ema", "SOL-USD"));
    await poll(async () => (await job.getState()) === "failed" || undefined, "job to fail");
    const { rows } = await db.pool.query("SELECT 1 FROM observability.alerts");
    expect(rows).toHaveLength(0);
    await watch();
    const row = await alert("job-failed:stage:ema");
    expect(row.message).toContain("while nobody watched");
  });
});
