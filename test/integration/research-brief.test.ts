// Research briefs end to end: a daily refresh on real Redis whose run root, once the run is summarised,
// enqueues the run's `research-brief` llm job; the brief's prompt is built from the database (run summary,
// a quality issue, positions, the latest sweep's best with DSR/PBO, the walk-forward's chosen parameters),
// routed to the fake providers like any LLM task, stored linked to the run, and queued in the delivery
// outbox: the deliverer (alerts/deliver.ts, as the bot process runs it) posts it to a fake Telegram in parts
// of at most 4096 characters, in order, each part once — through a Telegram failure and an outage, and with
// two deliverers competing for it. Without a provider it is skipped with one log line, and nothing the brief
// does changes the run.
import type { AddressInfo } from "node:net";
import express from "express";
import { Api } from "node-telegram-bot-api";
import { opsApi } from "../../apps/web/dashboard/api-ops.ts";
import { renderPage } from "../../apps/web/dashboard/pages.ts";
import { Job } from "bullmq";
import { afterEach, beforeAll, afterAll, describe, expect, it } from "vitest";
import { Deliverer, DeliveryLoop } from "../../alerts/deliver.ts";
import { briefMessage } from "../../alerts/notify.ts";
import { splitMessage } from "../../alerts/split.ts";
import { redactor } from "../../alerts/redact.ts";
import { TelegramSink } from "../../alerts/telegram.ts";
import { upsertAsset } from "../../db/repos/assets.ts";
import { getBrief } from "../../db/repos/research-briefs.ts";
import { saveQuality } from "../../db/repos/quality.ts";
import { dailyRefresh } from "../../queues/flows/daily-refresh.ts";
import type { RunSummary } from "../../queues/kinds/flow.ts";
import { researchBriefJobId, researchBriefTaskId, type ResearchBriefResult } from "../../queues/kinds/llm.ts";
import { backtestKind, flowKind, llmKind, signalKind, stageKind } from "../../queues/registry.ts";
import { llmDeps } from "../../workers/llm/deps.ts";
import { llmProcessor } from "../../workers/llm/processor.ts";
import type { BriefSwitch } from "../../workers/flow/brief-trigger.ts";
import { flowProcessor } from "../../workers/flow/index.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/db.ts";
import { testFleet, type TestFleet } from "../helpers/fleet.ts";
import { poll } from "../helpers/wait.ts";
import { FAST_RETRY, providersFor, roomyBudgets, settled, startFakes, type Fakes } from "../fakes/llm-setup.ts";
import { serverError, startFakeTelegram, type FakeTelegram } from "../fakes/telegram.ts";

const ASSETS = ["AAA", "BBB"];
const AS_OF = "2022-11-15";
const CHAT = "1001";
const DASHBOARD = "http://127.0.0.1:3000";

let db: TestDatabase;
let tf: TestFleet | undefined;
let fakes: Fakes | undefined;
let telegram: FakeTelegram | undefined;
let deliverers: Deliverer[] = [];
let loops: DeliveryLoop[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  await seed();
});
afterAll(async () => {
  await db.drop();
});
afterEach(async () => {
  await Promise.all(loops.map((l) => l.close()));
  loops = [];
  deliverers = [];
  await tf?.close();
  await fakes?.close();
  await telegram?.close();
  tf = fakes = telegram = undefined;
  // Every test runs the same day for the same assets, so the same run id: start each from no brief.
  await db.pool.query("DELETE FROM research_briefs");
  await db.pool.query("DELETE FROM llm_calls");
  await db.pool.query("DELETE FROM llm_tasks");
});

/** The lab's data the brief reads: a quality issue, positions on the day, a sweep with DSR/PBO, a walk-forward. */
async function seed() {
  const aaa = await upsertAsset(db.pool, "AAA", "CRYPTO");
  await upsertAsset(db.pool, "BBB", "CRYPTO");
  await saveQuality(db.pool, {
    jobId: "stage.quality.AAA.2022-11-15", symbol: "AAA", asOf: AS_OF, overallScore: 71.5, freshnessScore: 100, completenessScore: 90, outlierScore: 100, outliersDetected: 0,
    status: "fair", issues: [{ check: "gaps", severity: "critical", message: "2 missing bars before 2022-11-15", value: 2, threshold: 0 }], gaps: 2, expectedRows: 100, actualRows: 98,
    rowcountDeviation: -0.02, nullRatio: 0, nullEmaCount: 0, misalignedBars: 0, staleSeconds: 0, checkDurationMs: 1,
  });
  // dim_signals 1 = ema_9_21, 2 = rsi_14_30_70 (seeded by the migrations).
  await db.pool.query(
    `INSERT INTO signals_ema_crossover (asset_id, signal_id, entry_ts, direction, signal_state, entry_price, exit_ts, exit_price, feature_version_hash, feature_snapshot)
     VALUES ($1, 1, '2022-11-15', 'LONG', 'OPEN', 16800.5, NULL, NULL, '0000000000000000', '{}'),
            ($1, 1, '2022-10-01', 'LONG', 'CLOSED', 19000, '2022-10-20', 19500, '0000000000000000', '{}')`,
    [aaa.asset_id],
  );
  await db.pool.query(
    `INSERT INTO signals_rsi_mean_revert (asset_id, signal_id, entry_ts, direction, signal_state, entry_price, exit_ts, exit_price, feature_version_hash, feature_snapshot)
     VALUES ($1, 2, '2022-11-02', 'LONG', 'CLOSED', 20400, '2022-11-15', 16700.25, '0000000000000000', '{}')`,
    [aaa.asset_id],
  );
  await db.pool.query(
    `INSERT INTO sweeps (sweep_id, asset_id, strategy, grid, fee_bps, combos, chunks, status, failed_chunks, finished_at)
     VALUES ('AAA-ema_cross-sw-old', $1, 'ema_cross', '{}', 10, 4, 1, 'completed', 0, '2022-11-01'),
            ('AAA-ema_cross-sw-new', $1, 'ema_cross', '{}', 10, 210, 3, 'completed', 0, '2022-11-14 09:00+00')`,
    [aaa.asset_id],
  );
  await db.pool.query(
    `INSERT INTO sweep_results (sweep_id, fast, slow, sharpe, total_return, max_drawdown, trades) VALUES ('AAA-ema_cross-sw-new', 12, 48, 1.8765, 2.5, -0.3, 40)`,
  );
  await db.pool.query(
    `INSERT INTO sweep_research (sweep_id, s, n, t, v, sr0, sr_star, g3, g4, dsr, best_fast, best_slow, block_length, splits, pbo)
     VALUES ('AAA-ema_cross-sw-new', 16, 210, 1000, 0.01, 0.05, 0.08, 0, 3, 0.9731, 12, 48, 62, 12870, 0.125)`,
  );
  await db.pool.query(
    `INSERT INTO walk_forwards (walk_forward_id, asset_id, strategy, grid, train, test, fee_bps, windows, total_return, cagr, sharpe, sortino, max_drawdown, calmar,
       var_95, cvar_95, win_rate, profit_factor, trades, exposure, n_returns, mean_is_sharpe, mean_oos_sharpe, wfe, curve_dates, curve_equity)
     VALUES ('AAA-ema_cross-wf-1', $1, 'ema_cross', '{}', 730, 365, 10, 2, 0.3, 0.1, 0.8, 1, -0.2, 0.5, -0.03, -0.05, 0.5, 1.4, 20, 0.5, 730, 1.2, 0.73, 0.61, '{}', '{}')`,
    [aaa.asset_id],
  );
  await db.pool.query(
    `INSERT INTO walk_forward_windows (walk_forward_id, k, train_start, train_end, train_start_date, train_end_date, test_start, test_end, test_start_date, test_end_date,
       fast, slow, is_sharpe, oos_sharpe, oos_total_return, oos_trades, open_at_end, returns, trade_pnl, bars_in_position)
     VALUES ('AAA-ema_cross-wf-1', 0, 0, 729, '2018-01-01', '2019-12-31', 730, 1094, '2020-01-01', '2020-12-31', 10, 50, 1.1, 0.9, 0.2, 5, false, '{}', '{}', 100),
            ('AAA-ema_cross-wf-1', 1, 365, 1094, '2019-01-01', '2020-12-31', 1095, 1459, '2021-01-01', '2021-12-31', 25, 120, 1.3, 0.35, 0.1, 4, true, '{}', '{}', 90)`,
  );
}

/** The daily refresh with fake stage/signal/backtest processors and the real flow processor (run root → brief). */
async function startFlow(brief: BriefSwitch) {
  tf = testFleet("brief");
  const signals = { activeSignalIds: async () => [1, 2], signalNames: async () => new Map([[1, "ema_9_21"], [2, "rsi_14_30_70"]]) };
  await tf.worker(flowKind, flowProcessor({ fleet: tf.fleet, ...signals, brief }));
  await tf.worker(stageKind, async (p) => ({ stage: p.stage, asset: p.asset, rowsWritten: 1 }));
  await tf.worker(signalKind, async (p) => ({ signalId: p.signalId, asset: p.asset, signalType: "test", rowsWritten: 1, featureVersionHash: "0", openPositions: 0 }));
  await tf.worker(backtestKind, async () => ({ mode: "signal" as const }));
}

/**
 * An llm worker on the fakes, and `deliverers` delivery loops (what the bot process runs; two stand for a
 * second replica or the maintenance task's pass) posting from the outbox to the fake Telegram.
 */
async function startLlm(o: { providers?: boolean; deliverers?: number } = {}) {
  fakes = await startFakes();
  telegram = await startFakeTelegram();
  const deps = llmDeps(
    { pool: db.pool, fleet: tf!.fleet, log: tf!.log.log },
    { providers: o.providers === false ? [] : providersFor(fakes), budgets: roomyBudgets(), retry: FAST_RETRY, dashboardBase: DASHBOARD },
  );
  await tf!.worker(llmKind, llmProcessor(deps));
  for (let i = 0; i < (o.deliverers ?? 1); i++) {
    const api = new Api(telegram.token, { apiRoot: telegram.url, maxRetries: 0, timeoutMs: 5_000 });
    const sink = new TelegramSink(api, [CHAT], redactor([]));
    const deliverer = new Deliverer({ pool: db.pool, sink, notifier: sink, dashboardBase: DASHBOARD, log: tf!.log.log, redact: redactor([]), maxBackoffMs: 300 });
    deliverers.push(deliverer);
    loops.push(new DeliveryLoop(deliverer, tf!.log.log, 50).start());
  }
}

/** The brief once its delivery has ended (delivered, disabled or failed). */
const deliveredBrief = (runId: string) =>
  poll(async () => {
    const b = await getBrief(db.pool, runId);
    return b && b.deliveryStatus !== "pending" ? b : undefined;
  }, `the brief of ${runId} to be delivered`, 20_000);

async function runToEnd(): Promise<{ runId: string; summary: RunSummary; state: string }> {
  const { rootJobId, runId } = await dailyRefresh(tf!.fleet, ASSETS, AS_OF);
  const queue = tf!.fleet.queue(flowKind);
  const state = await poll(async () => {
    const s = await (await Job.fromId(queue, rootJobId))?.getState();
    return s === "completed" || s === "failed" ? s : undefined;
  }, "the run root to reach a final state", 30_000);
  const root = await Job.fromId(queue, rootJobId);
  return { runId, summary: root!.returnvalue as RunSummary, state };
}

/** The run page's API answer (GET /dashboard/api/runs/:runId) for the run: its `brief`. */
async function runPageBrief(runId: string): Promise<Record<string, unknown> | null> {
  const app = express().use(opsApi({ db: db.pool, fleet: tf!.fleet, alerts: { acknowledge: async () => ({ ok: false, reason: "n/a" }) }, llmTz: "UTC", readOnly: true, boardPath: "/admin/queues" }));
  const server = app.listen(0, "127.0.0.1");
  await new Promise((r) => server.once("listening", r));
  try {
    const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/runs/${encodeURIComponent(runId)}`);
    expect(res.status).toBe(200);
    return ((await res.json()) as { brief: Record<string, unknown> | null }).brief;
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
}

/** A long answer (four Telegram parts with the header) made of numbered lines. */
const LONG_ANSWER = Array.from({ length: 160 }, (_, i) => `${String(i + 1).padStart(3, "0")}. ${"The sweep's best is fragile; watch AAA's gaps. ".repeat(1 + (i % 2))}`).join("\n");

describe("research briefs", () => {
  it("the run root's completion triggers a brief built from the database; it is stored with the run and posted from the outbox in ordered parts, each once", async () => {
    await startFlow({ mode: "on", providersConfigured: true });
    await startLlm({ deliverers: 2 });
    fakes!.gemini.script({ type: "ok", text: LONG_ANSWER, usage: { input: 900, output: 2000 } });
    const { runId, summary, state } = await runToEnd();
    expect(state).toBe("completed");
    expect(summary.status).toBe("completed");

    const { state: briefState, job } = await settled(tf!, researchBriefJobId(runId));
    expect(briefState).toBe("completed");
    const result = job.returnvalue as ResearchBriefResult;
    const taskId = researchBriefTaskId(runId, AS_OF);
    // The job stores the answer and queues it; it never waits on Telegram.
    expect(result).toMatchObject({ runId, status: "completed", taskId, provider: "gemini", delivery: "outbox" });

    // Routed like every LLM task: the cheapest tier, one call, in the ledger under the brief's task id.
    expect(fakes!.gemini.requests).toHaveLength(1);
    expect(fakes!.openai.requests.length + fakes!.anthropic.requests.length).toBe(0);
    const body = fakes!.gemini.requests[0]!.body as { contents: Array<{ parts: Array<{ text: string }> }>; systemInstruction?: unknown };
    const prompt = body.contents[0]!.parts[0]!.text;
    expect(body.systemInstruction).toBeDefined();
    // The context from the database, in the prompt the provider received.
    expect(prompt).toContain(`run ${runId} (as of ${AS_OF}); the run ended completed`);
    expect(prompt).toContain("- AAA: completed");
    expect(prompt).toContain("  - ema_9_21 (#1): ");
    expect(prompt).toContain("- AAA: score 71.5 (fair), 1 issue(s)");
    expect(prompt).toContain("  - [critical] gaps: 2 missing bars before 2022-11-15");
    expect(prompt).toContain("- AAA ema_9_21: opened (entry 2022-11-15 at 16800.5000)");
    expect(prompt).toContain("- AAA rsi_14_30_70: closed (entry 2022-11-02 at 20400.0000, exit 2022-11-15 at 16700.2500)");
    expect(prompt).not.toContain("entry 2022-10-01"); // closed before the day
    expect(prompt).toContain("- AAA ema_cross sweep AAA-ema_cross-sw-new (210 combinations, finished 2022-11-14 09:00 UTC): best fast 12 / slow 48, Sharpe 1.88, total return 250.00%; DSR 0.973, PBO 0.125");
    expect(prompt).not.toContain("AAA-ema_cross-sw-old");
    expect(prompt).toContain("- AAA ema_cross walk-forward AAA-ema_cross-wf-1: 2 window(s), WFE 0.61, fast 10..25, slow 50..120, 1 parameter change(s)");
    expect(prompt).toContain("  - window 0 (test 2020-01-01..2020-12-31): fast 10 / slow 50, OOS Sharpe 0.90");
    expect(prompt).toContain("  - window 1 (test 2021-01-01..2021-12-31): fast 25 / slow 120, OOS Sharpe 0.35");
    const calls = await db.pool.query("SELECT provider, status FROM llm_calls WHERE task_id = $1", [taskId]);
    expect(calls.rows).toEqual([{ provider: "gemini", status: "ok" }]);
    const task = await db.pool.query("SELECT status, output FROM llm_tasks WHERE task_id = $1", [taskId]);
    expect(task.rows).toEqual([{ status: "completed", output: LONG_ANSWER }]);

    // Stored, linked to the run, and delivered from the outbox in one claim: two deliverers compete for it,
    // one sends every part.
    const brief = await deliveredBrief(runId);
    expect(brief).toMatchObject({ runId, asOf: AS_OF, taskId, status: "completed", output: LONG_ANSWER, provider: "gemini", prompt, deliveryStatus: "delivered", deliveryAttempts: 1 });

    // Telegram: every part ≤ 4096 characters, in order, each once, nothing lost.
    const message = briefMessage({ runId, asOf: AS_OF }, LONG_ANSWER, DASHBOARD);
    const expected = splitMessage(message);
    expect(message.length).toBeGreaterThan(3 * 4096);
    expect(expected.length).toBe(4);
    expect(brief!.parts).toBe(4);
    expect(result.parts).toBe(4);
    const sent = telegram!.sent(CHAT).map((m) => m.text!);
    expect(sent).toEqual(expected);
    expect(telegram!.requests.filter((r) => r.method === "sendMessage")).toHaveLength(4);
    for (const part of sent) expect(part.length).toBeLessThanOrEqual(4096);
    expect(sent.join("\n")).toBe(message);
    expect(sent[0]).toContain(`📝 Research brief · run ${runId} (as of ${AS_OF})\n🔗 ${DASHBOARD}/dashboard/runs/${runId}`);
    expect(brief!.deliveredParts).toEqual({ [CHAT]: 4 });

    // Linked from the run page: its JSON carries the brief, and the page has the section that shows it.
    expect(await runPageBrief(runId)).toMatchObject({ runId, taskId, status: "completed", output: LONG_ANSWER, deliveryStatus: "delivered", parts: 4 });
    expect(renderPage("run", `Run ${runId}`, { base: "/dashboard", boardPath: "/admin/queues", readOnly: true }, { runId })).toContain('<section id="research-brief"><h2>Research brief</h2><div id="brief"');

    // Idempotent per run: the job run again (a retry, a resumed flow) neither calls the provider again nor
    // queues the brief again; a delivery pass finds nothing due.
    const queue = tf!.fleet.queue(llmKind);
    await (await queue.getJob(researchBriefJobId(runId)))!.remove();
    await queue.add("research-brief", { node: "brief", runId, asOf: AS_OF, assets: ASSETS }, { jobId: researchBriefJobId(runId) });
    expect((await settled(tf!, researchBriefJobId(runId))).job.returnvalue).toMatchObject({ status: "completed", delivery: "outbox", parts: 4 });
    expect(await deliverers[0]!.deliverDue()).toEqual({ sent: 0, failed: 0 });
    expect(fakes!.gemini.requests).toHaveLength(1);
    expect(telegram!.sent(CHAT)).toHaveLength(4);
    expect(await getBrief(db.pool, runId)).toMatchObject({ deliveryStatus: "delivered", deliveryAttempts: 1 });
  });

  it("Telegram failing mid-brief: the outbox retries after a backoff and resumes after the last part a chat accepted", async () => {
    await startFlow({ mode: "on", providersConfigured: true });
    await startLlm();
    fakes!.gemini.script({ type: "ok", text: LONG_ANSWER });
    const ok = { status: 200, body: { ok: true, result: { message_id: 1, date: 0, chat: { id: Number(CHAT), type: "private" }, text: "part" } } };
    // Part 1 accepted, part 2 hits a 502: the delivery attempt ends; the next one sends parts 2.. only.
    telegram!.script("sendMessage", ok, serverError(502));
    const { runId, state } = await runToEnd();
    expect(state).toBe("completed");
    const { state: briefState, job } = await settled(tf!, researchBriefJobId(runId));
    expect(briefState).toBe("completed");
    expect(job.attemptsMade).toBe(1);
    const parts = splitMessage(briefMessage({ runId, asOf: AS_OF }, LONG_ANSWER, DASHBOARD));
    expect(await deliveredBrief(runId)).toMatchObject({ deliveryStatus: "delivered", deliveredParts: { [CHAT]: parts.length }, deliveryError: null, deliveryAttempts: 2 });
    expect(telegram!.sent(CHAT).map((m) => m.text)).toEqual(parts);
    expect(fakes!.gemini.requests).toHaveLength(1);
    // The failed attempt is logged with Telegram's answer.
    const failed = tf!.log.records().filter((r) => r.msg === "research brief delivery failed; will retry");
    expect(failed).toEqual([expect.objectContaining({ runId, attempt: 1, err: "Telegram 502: Bad Gateway" })]);
  });

  it("Telegram unreachable while the brief is written: nothing is lost; it is delivered once Telegram is back, each part once", async () => {
    await startFlow({ mode: "on", providersConfigured: true });
    await startLlm();
    fakes!.gemini.script({ type: "ok", text: LONG_ANSWER });
    telegram!.setDown(true);
    const { runId, state } = await runToEnd();
    expect(state).toBe("completed");
    expect((await settled(tf!, researchBriefJobId(runId))).state).toBe("completed");
    // Pending in the outbox, retried with a backoff while Telegram stays down.
    const pending = await poll(async () => {
      const b = await getBrief(db.pool, runId);
      return b && b.deliveryAttempts >= 2 ? b : undefined;
    }, "two failed delivery attempts", 20_000);
    expect(pending).toMatchObject({ status: "completed", deliveryStatus: "pending", deliveredParts: {}, deliveryError: expect.stringMatching(/^Telegram unreachable/) });
    expect(telegram!.sent()).toEqual([]);
    telegram!.setDown(false);
    const parts = splitMessage(briefMessage({ runId, asOf: AS_OF }, LONG_ANSWER, DASHBOARD));
    expect(await deliveredBrief(runId)).toMatchObject({ deliveryStatus: "delivered", deliveredParts: { [CHAT]: parts.length }, deliveryError: null });
    expect(telegram!.sent(CHAT).map((m) => m.text)).toEqual(parts);
  });

  it("a brief that fails does not change the run: the run completed, the brief is recorded as failed", async () => {
    await startFlow({ mode: "on", providersConfigured: true });
    await startLlm();
    // 400: the request itself is wrong, so the task fails at once.
    fakes!.gemini.script({ type: "error", status: 400, message: "bad request" });
    const { runId, summary, state } = await runToEnd();
    expect([state, summary.status]).toEqual(["completed", "completed"]);
    const { state: briefState } = await settled(tf!, researchBriefJobId(runId));
    expect(briefState).toBe("failed");
    expect(await getBrief(db.pool, runId)).toMatchObject({ status: "failed", output: null });
    const root = await Job.fromId(tf!.fleet.queue(flowKind), `run.${runId}`);
    expect([await root!.getState(), (root!.returnvalue as RunSummary).status]).toEqual(["completed", "completed"]);
    expect(telegram!.sent()).toEqual([]);
  });

  it("without a provider the brief is skipped with one log line and the run completes", async () => {
    await startFlow({ mode: "on", providersConfigured: false });
    const { runId, summary, state } = await runToEnd();
    expect([state, summary.status]).toEqual(["completed", "completed"]);
    const skipped = tf!.log.records().filter((r) => String(r.msg).startsWith("research brief skipped"));
    expect(skipped).toHaveLength(1);
    expect(skipped[0]).toMatchObject({ runId, level: 40 });
    expect(String(skipped[0]!.msg)).toContain("no LLM provider is configured");
    expect(await tf!.fleet.queue(llmKind).getJob(researchBriefJobId(runId))).toBeUndefined();
    expect(await getBrief(db.pool, runId)).toBeUndefined();
  });

  it("a worker without providers skips a brief it is given (one log line, nothing faked, nothing stored)", async () => {
    await startFlow({ mode: "on", providersConfigured: true });
    await startLlm({ providers: false });
    const { runId, state } = await runToEnd();
    expect(state).toBe("completed");
    const { state: briefState, job } = await settled(tf!, researchBriefJobId(runId));
    expect(briefState).toBe("completed");
    expect(job.returnvalue).toMatchObject({ runId, status: "skipped", reason: expect.stringContaining("no LLM provider is configured") });
    expect(tf!.log.records().filter((r) => String(r.msg).startsWith("research brief skipped"))).toHaveLength(1);
    expect(await getBrief(db.pool, runId)).toBeUndefined();
    expect(telegram!.sent()).toEqual([]);
  });

  it("RESEARCH_BRIEF=off: no brief job, no log line", async () => {
    await startFlow({ mode: "off", providersConfigured: true });
    const { runId, state } = await runToEnd();
    expect(state).toBe("completed");
    expect(await tf!.fleet.queue(llmKind).getJob(researchBriefJobId(runId))).toBeUndefined();
    expect(tf!.log.records().filter((r) => String(r.msg).includes("research brief"))).toEqual([]);
  });
});
