// The operator UI in headless Chromium: bull-board and the ops dashboard over data from real runs (two
// daily refreshes of BTC-USD through the real workers with telemetry, a small sweep, a small walk-forward, an
// offline LLM task, alerts from the real watcher and rules). Screenshots go to test-artifacts/ui/.
import { mkdirSync, rmSync } from "node:fs";
import type { Server } from "node:http";
import { resolve } from "node:path";
import { Job } from "bullmq";
import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { importPrices } from "../../db/import/import-prices.ts";
import { insertSignal } from "../../db/repos/signals.ts";
import { DATA_DIR } from "../../db/sample-data.ts";
import { createAlerting, type Alerting } from "../../alerts/alerting.ts";
import { EventWatcher } from "../../alerts/watch.ts";
import { parseConfig } from "../../ops/config.ts";
import type { DashboardSources } from "../../apps/web/dashboard/deps.ts";
import { registerSchedules } from "../../producers/register-schedules.ts";
import { schedules } from "../../producers/schedules.ts";
import { enqueue } from "../../queues/enqueue.ts";
import { runKey } from "../../queues/flows/daily-refresh.ts";
import { enqueueSweep } from "../../queues/flows/sweep.ts";
import { enqueueWalkForward } from "../../queues/flows/walk-forward.ts";
import { findAsset } from "../../db/repos/assets.ts";
import { loadBars } from "../../db/repos/prices.ts";
import type { KindName } from "../../queues/registry.ts";
import { KINDS, llmKind, maintenanceKind } from "../../queues/registry.ts";
import { createFleetComputePool } from "../../workers/threads/fleet-pool.ts";
import type { ComputePool } from "../../workers/threads/pool.ts";
import { budgetsFromConfig, LlmQuota } from "../../queues/llm-quota.ts";
import { newTaskId } from "../../workers/llm/task-id.ts";
import { startWorkerObservability, type WorkerObservability } from "../../apps/worker/observability.ts";
import { buildProcessors } from "../../workers/processors.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/db.ts";
import { testFleet, type TestFleet } from "../helpers/fleet.ts";
import { redisUrl } from "../helpers/redis.ts";
import { poll } from "../helpers/wait.ts";
import { canvasInk, launchChromium, openDashboard, SHOTS, shot, skipWithoutChromium, UI_PASSWORD, UI_USER, unauthenticated, webPair } from "../helpers/browser.ts";

const skip = skipWithoutChromium();

const QUEUES = Object.keys(KINDS) as KindName[];
const OLD_DAY = "2022-06-30";
const DAY = "2022-11-15";

let db: TestDatabase;
let tf: TestFleet;
let compute: ComputePool;
let obs: WorkerObservability;
let alerting: Alerting;
let watcher: EventWatcher;
let servers: Server[] = [];
let base: string;
let readOnlyBase: string;
let browser: BrowserContext;
let page: Page;
let profile: string;
const runB = runKey(DAY, ["BTC-USD"]).runId;
let sweepId: string;
let walkForwardId: string;
/** Signal id of the strategy with bad parameters. */
let broken: number;

async function dailyRefresh(asOf: string): Promise<void> {
  const { runId } = runKey(asOf, ["BTC-USD"]);
  await enqueue(tf.fleet, maintenanceKind, { task: "daily-refresh", assets: ["BTC-USD"], asOf });
  await poll(async () => (await Job.fromId(tf.fleet.queue(KINDS.flow), `run.${runId}`))?.isCompleted(), `run ${runId}`, 120_000);
}

beforeAll(async () => {
  if (skip) return;
  const cfg = parseConfig({ EMA_TIMEFRAMES: "1W", LLM_OFFLINE: "1", ALERT_EVENT_COOLDOWN_S: "1", RESEARCH_BRIEF: "off" });
  db = await createTestDatabase();
  tf = testFleet("ui");
  compute = createFleetComputePool(1);
  obs = startWorkerObservability({ service: "worker", cfg, log: tf.log.log, databaseUrl: db.url, redisUrl: redisUrl(), flushMs: 500 });
  await importPrices(db.pool, resolve(DATA_DIR, "BTC-USD_daily.csv"), "BTC-USD", "CRYPTO");
  const processors = buildProcessors({ pool: db.pool, fleet: tf.fleet, cfg, log: tf.log.log, compute });
  for (const q of ["flow", "stage", "signal", "backtest", "maintenance", "llm"] as const) {
    await tf.worker(KINDS[q], processors[q]!, { concurrency: 2, hooks: obs.hooks });
  }
  // The schedules the scheduler process registers, minus the every-minute one (it would run mid-test).
  await registerSchedules(tf.fleet, schedules(cfg).filter((s) => s.id !== "alerts-evaluate"));
  alerting = createAlerting({ cfg, log: tf.log.log, pool: db.pool, fleet: tf.fleet });
  watcher = new EventWatcher({ fleet: tf.fleet, redisUrl: redisUrl(), log: tf.log.log, onEvent: (rule, row) => alerting.onEvent(rule, row), blockMs: 200 }).start();
  await watcher.ready;

  await dailyRefresh(OLD_DAY); // completes
  // A strategy with bad parameters: its signal job fails unrecoverably, so the next run ends partial.
  broken = (await insertSignal(db.pool, "ema_crossover", "broken", { fast: 30, slow: 10 })).signal_id;
  await dailyRefresh(DAY);
  const sweep = await enqueueSweep(tf.fleet, { asset: "BTC-USD", strategy: "ema_cross", fast: [5, 20, 3], slow: [10, 60, 5], feeBps: 10, topN: 5, chunkSize: 40 });
  sweepId = sweep.sweepId;
  const bars = await loadBars(db.pool, (await findAsset(db.pool, "BTC-USD"))!.asset_id, "9999-12-31");
  const wf = await enqueueWalkForward(tf.fleet, { asset: "BTC-USD", strategy: "ema_cross", fast: [5, 20, 5], slow: [30, 60, 10], train: 365, test: 365, feeBps: 10 }, bars.dates.length);
  walkForwardId = wf.walkForwardId;
  const task = await enqueue(tf.fleet, llmKind, { node: "task", taskId: newTaskId(), prompt: "Summarise today's daily refresh." });
  await poll(async () => (await Job.fromId(tf.fleet.queue(KINDS.backtest), sweep.rootJobId))?.isCompleted(), "sweep ranking", 120_000);
  await poll(async () => (await Job.fromId(tf.fleet.queue(llmKind), task.id!))?.isCompleted(), "llm task", 120_000);
  await poll(async () => (await Job.fromId(tf.fleet.queue(KINDS.backtest), wf.rootJobId))?.isCompleted(), "walk-forward root", 120_000);
  // The watcher stores the partial run and the failed signal job; a later evaluation resolves the failure
  // once its (1 s) cooldown passed without a repeat.
  await poll(async () => (await db.pool.query("SELECT count(*)::int AS n FROM observability.alerts")).rows[0].n >= 2, "alerts from the watcher", 10_000);
  await poll(async () => (await alerting.evaluate()).resolved > 0, "the job-failed alert to resolve", 10_000, 250);
  await obs.obs.telemetry.forceFlush();
  await obs.obs.metrics.flush();
  await poll(async () => (await db.pool.query("SELECT status FROM observability.workflow_state WHERE workflow_id = $1", [runB])).rows[0]?.status === "partial", "workflow state of the run");

  const quota = new LlmQuota(tf.fleet.redis, tf.fleet.prefix, budgetsFromConfig(cfg), db.pool, tf.log.log);
  const dashboard: DashboardSources = {
    db: db.pool,
    alerts: alerting.store,
    llmUsage: () => quota.budgetUsage([...budgetsFromConfig(cfg).keys()]),
    llmTz: cfg.LLM_QUOTA_TZ,
    log: tf.log.log,
  };
  ({ servers, base, readOnlyBase } = await webPair(tf.fleet, dashboard));

  rmSync(SHOTS, { recursive: true, force: true });
  mkdirSync(SHOTS, { recursive: true });
  ({ browser, page, profile } = await launchChromium("ui-chromium-"));
}, 300_000);

afterAll(async () => {
  if (skip) return;
  await browser?.close();
  for (const s of servers) await new Promise<void>((r) => (s.close(() => r()), s.closeAllConnections()));
  await watcher?.close();
  await tf?.close();
  await obs?.close();
  await compute?.close();
  await db?.drop();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

const open = (path: string) => openDashboard(page, `${base}${path}`);

describe.skipIf(skip)("operator UI in Chromium", () => {
  it("refuses unauthenticated access, names bad parameters, and refuses writes when read-only", async () => {
    for (const path of ["/admin/queues", "/admin/queues/api/queues", "/dashboard", "/dashboard/api/runs"]) {
      expect(await unauthenticated(base, path), path).toEqual({ status: 401, challenge: true });
      expect(await unauthenticated(base, path, `Basic ${Buffer.from(`${UI_USER}:wrong`).toString("base64")}`), path).toEqual({ status: 401, challenge: true });
    }
    const auth = { authorization: `Basic ${Buffer.from(`${UI_USER}:${UI_PASSWORD}`).toString("base64")}` };
    const bad = await fetch(`${base}/dashboard/api/fleet/series?window=abc`, { headers: auth });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ parameter: "window", value: "abc", error: expect.stringContaining('window="abc"') });
    const [open] = (await db.pool.query("SELECT alert_id::int AS id FROM observability.alerts WHERE resolved_at IS NULL ORDER BY alert_id")).rows;
    const ack = await fetch(`${readOnlyBase}/dashboard/api/alerts/${open.id}/acknowledge`, { method: "POST", headers: { ...auth, "content-type": "application/json" }, body: "{}" });
    expect(ack.status).toBe(403);
    expect(await (await fetch(`${readOnlyBase}/dashboard/api/alerts`, { headers: auth })).json()).toMatchObject({ readOnly: true });
    const board = await fetch(`${readOnlyBase}/admin/queues/api/queues/maintenance/pause`, { method: "PUT", headers: auth });
    expect(board.status).toBe(405);
  });

  it("bull-board lists every fleet queue, the schedulers, and the run root's result", async () => {
    await page.goto(`${base}/admin/queues`);
    for (const q of QUEUES) await page.getByText(q, { exact: true }).first().waitFor();
    await shot(page, "bull-board-queues");
    await page.goto(`${base}/admin/queues/job-schedulers`);
    for (const id of ["daily-refresh", "metrics-partitions", "quality-rollup"]) await page.getByText(id).first().waitFor();
    await shot(page, "bull-board-schedulers");
    // The run root's page: its data and result are readable and its flow tree (asset → gates → stages) loads.
    const auth = { authorization: `Basic ${Buffer.from(`${UI_USER}:${UI_PASSWORD}`).toString("base64")}` };
    const job = (await (await fetch(`${base}/admin/queues/api/queues/flow/run.${runB}`, { headers: auth })).json()) as { job: { returnValue: { status: string } } };
    expect(job.job.returnValue.status).toBe("partial");
    const flow = (await (await fetch(`${base}/admin/queues/api/queues/flow/run.${runB}/flow`, { headers: auth })).json()) as { isFlowNode: boolean; flowRoot: { children: unknown[] } };
    expect(flow.isFlowNode).toBe(true);
    expect(flow.flowRoot.children).toHaveLength(1);
    await page.goto(`${base}/admin/queues/queue/flow/run.${runB}`);
    await page.getByText(`run.${runB}`).first().waitFor();
    await page.getByText("Open this job").first().waitFor(); // the flow graph has rendered its nodes
    await shot(page, "bull-board-run-job");
  });

  it("fleet overview: depths by state, throughput and p95 charts, workers, failures of the last hour", async () => {
    await open("/dashboard");
    const rows = await page.$$eval("#queues tbody tr", (trs) => trs.map((tr) => [...tr.querySelectorAll("td")].map((td) => td.textContent)));
    expect(rows.map((r) => r[0])).toEqual(QUEUES);
    const counts = await tf.fleet.queue(KINDS.stage).getJobCounts("completed");
    expect(rows.find((r) => r[0] === "stage")![7]).toBe(String(counts.completed));
    expect(await page.$$eval("#workers tbody tr", (trs) => trs.length)).toBeGreaterThanOrEqual(QUEUES.length);
    expect(await page.textContent("#failures")).toMatch(/params\.slow/);
    for (const chart of ["#throughput", "#p95"]) expect(await canvasInk(page, `${chart} canvas`), chart).toBeGreaterThan(200);
    await shot(page, "fleet-overview");
  });

  it("flow runs list per-asset status; a run opens its trace waterfall with nesting and errors", async () => {
    await open("/dashboard/runs");
    const runsText = await page.textContent("#runs");
    expect(runsText).toContain(runKey(OLD_DAY, ["BTC-USD"]).runId);
    expect(runsText).toContain("BTC-USD: partial");
    await shot(page, "flow-runs");
    await Promise.all([page.waitForURL(`**/dashboard/runs/${runB}`), page.click(`a[href$="/runs/${runB}"]`)]);
    await page.waitForSelector("body[data-ready]");
    const { correlation_id: traceId } = (await db.pool.query("SELECT correlation_id FROM observability.workflow_state WHERE workflow_id = $1", [runB])).rows[0];
    const spans = (await db.pool.query("SELECT span_id, parent_span_id, name, status_code FROM observability.spans WHERE trace_id = $1", [traceId])).rows;
    const drawn = await page.$$eval(".wf-row", (rows) => rows.map((r) => ({ id: r.getAttribute("data-span-id"), depth: Number(r.getAttribute("data-depth")), name: r.querySelector(".wf-name")!.firstChild!.textContent, error: r.classList.contains("error") })));
    expect(drawn.map((r) => r.id).sort()).toEqual(spans.map((s) => s.span_id).sort());
    expect(drawn[0]).toMatchObject({ name: "maintenance daily-refresh", depth: 0 });
    for (const name of ["flow run", "flow asset", "stage ema", "stage quality", "signal signal", "backtest signal"]) expect(drawn.some((r) => r.name === name && r.depth > 0), name).toBe(true);
    // Jobs the strategies gate added are its children, one level deeper than the gate.
    const gate = drawn.find((r) => r.name === "flow gate-strategies")!;
    expect(drawn.some((r) => r.name === "signal signal" && r.depth === gate.depth + 1)).toBe(true);
    expect(drawn.filter((r) => r.error).length).toBe(spans.filter((s) => s.status_code === "ERROR").length);
    expect(await page.textContent(".wf-row.error .wf-msg")).toMatch(/params\.slow/);
    expect(await page.textContent("#assets")).toMatch(/BTC-USD\s*partial/);
    // The asset table: the root cause (the signal job's own error) and that job, not the backtest's "child … failed";
    // strategies by their dim_signals names.
    const signalJob = `signal.${broken}.BTC-USD.${DAY}`;
    const cause = `dim_signals ${broken} (broken): params.slow: must be greater than fast (got 10)`;
    const [row] = await page.$$eval("#assets tbody tr", (trs) =>
      trs.map((tr) => {
        const td = [...tr.querySelectorAll("td")];
        return {
          cells: td.slice(0, 5).map((c) => c.textContent),
          job: td[4]!.querySelector("a")?.getAttribute("href"),
          strategies: [...td[6]!.querySelectorAll(".chip")].map((c) => ({ text: c.textContent!.replace(/, -?[\d.]+$/, ""), title: c.getAttribute("title") })),
        };
      }),
    );
    expect(row!.cells).toEqual(["BTC-USD", "partial", `strategy broken (#${broken})`, cause, `signal/${signalJob}`]);
    expect(row!.job).toBe(`/admin/queues/queue/signal/${signalJob}`);
    expect(row!.strategies).toEqual([
      { text: "ema_9_21 (#1): completed", title: null },
      { text: "rsi_14_30_70 (#2): completed", title: null },
      { text: "atr_breakout_20_14 (#3): completed", title: null },
      { text: `broken (#${broken}): failed`, title: `${cause} (job signal/${signalJob})` },
    ]);
    expect(await page.textContent("#assets")).not.toContain("child ");
    // Waterfall rows of strategy jobs say which strategy, by name.
    expect(await page.$$eval(".wf-row .svc", (els) => els.map((e) => e.textContent))).toContain(`broken (#${broken}) · BTC-USD · worker`);
    await shot(page, "run-trace-waterfall");
  });

  it("alerts: open and resolved, and acknowledging the open one records who did", async () => {
    await open("/dashboard/alerts?state=all");
    const states = await page.$$eval("#alerts tbody tr", (trs) => trs.map((tr) => tr.getAttribute("data-state")));
    expect(states).toContain("open");
    expect(states).toContain("resolved");
    const id = Number(await page.getAttribute("#alerts tbody tr[data-state=open] button[data-ack]", "data-ack"));
    await page.click(`button[data-ack="${id}"]`);
    await page.locator(`tr[data-alert-id="${id}"]`, { hasText: `web:${UI_USER}` }).waitFor();
    const row = (await db.pool.query("SELECT acknowledged_by, acknowledged_at FROM observability.alerts WHERE alert_id = $1", [id])).rows[0];
    expect(row.acknowledged_by).toBe(`web:${UI_USER}`);
    expect(row.acknowledged_at).toBeInstanceOf(Date);
    await shot(page, "alerts");
  });

  it("LLM budgets: today's use against each provider's budget, and the ledger", async () => {
    await open("/dashboard/llm");
    const budgets = await page.textContent("#budgets");
    for (const p of ["anthropic", "gemini", "openai", "offline"]) expect(budgets).toContain(p);
    expect(budgets).toContain("0 / 1,500"); // gemini's default daily request budget, unused
    expect(await page.textContent("#ledger")).toMatch(/offline\s*1\s*0/);
    await shot(page, "llm-budgets");
  });

  it("backtests: runs with metrics, the equity curve with drawdown, and the sweep heatmap", async () => {
    await open("/dashboard/backtests");
    const stored = (await db.pool.query("SELECT count(*)::int AS n FROM backtest_runs")).rows[0].n;
    expect(await page.$$eval("#backtests tbody tr", (trs) => trs.length)).toBe(stored);
    // The equity line (blue) and the drawdown area (red) are both on the canvas, once the selected run's
    // curve has been fetched and drawn (after the table).
    // A loaded CI machine has taken over 10 s here; a failure says what the panel shows instead.
    for (const hue of ["blue", "red"] as const) {
      await poll(
        async () => {
          const ink = await canvasInk(page, "#equity canvas", hue).catch(() => 0);
          if (ink > 300) return true;
          throw new Error(`${ink} ${hue} pixels; the panel says ${JSON.stringify((await page.textContent("#equity"))?.slice(0, 200))}`);
        },
        `${hue} ink on the equity chart`,
        30_000,
        100,
      );
    }
    expect(await page.textContent("#sweeps")).toContain(sweepId);
    expect(await canvasInk(page, "#heatmap", "green")).toBeGreaterThan(500);
    await page.hover("#heatmap", { position: { x: 300, y: 200 } });
    expect(await page.textContent("#heatmap-tip")).toMatch(/fast \d+ · slow \d+ → Sharpe/);
    await shot(page, "backtests");
  });

  it("sweep research: the DSR next to the best, the PBO with its λ histogram and the OOS-vs-IS scatter of the IS-best", async () => {
    await open(`/dashboard/backtests?sweep=${encodeURIComponent(sweepId)}`);
    const r = (await db.pool.query("SELECT dsr, pbo, s, splits, best_fast, best_slow, lambda_hist_counts FROM sweep_research WHERE sweep_id = $1", [sweepId])).rows[0];
    expect(r.pbo, "the sweep's PBO was computed").not.toBeNull();
    // As the page formats them.
    const [dsr, pbo] = [r.dsr, r.pbo].map((x: number) => x.toLocaleString("en-US", { minimumFractionDigits: 3, maximumFractionDigits: 3 }));
    const row = await page.$$eval("#sweeps tbody tr", (trs) => trs.map((tr) => [...tr.querySelectorAll("td")].map((td) => td.textContent)));
    expect(row).toHaveLength(1);
    expect(row[0]).toEqual(expect.arrayContaining([dsr, pbo]));
    const text = await page.textContent("#research");
    expect(text).toContain(`best ${r.best_fast}/${r.best_slow}: DSR ${dsr}`);
    expect(text).toContain(`PBO ${pbo} (S = ${r.s}, ${r.splits.toLocaleString("en-US")} splits`);
    expect(r.lambda_hist_counts.reduce((a: number, b: number) => a + b, 0)).toBe(r.splits);
    // Both charts are drawn: the histogram's bars and the scatter's points with its fitted line.
    expect(await page.isVisible(".research-charts")).toBe(true);
    expect(await canvasInk(page, "#lambda-hist")).toBeGreaterThan(500);
    expect(await canvasInk(page, "#oos-is")).toBeGreaterThan(300);
    // The sweeps table, its heatmap and the research section: what a researcher reads about one sweep.
    const top = (await page.locator("section:has(#sweeps)").boundingBox())!;
    const bottom = (await page.locator("section:has(#research)").boundingBox())!;
    await page.screenshot({ path: resolve(SHOTS, "sweep-research.png"), fullPage: true, clip: { x: 0, y: top.y, width: 1440, height: bottom.y + bottom.height - top.y + 16 } });
  });

  it("walk-forwards: the list links to a walk-forward's page with its windows, chosen parameters and curves", async () => {
    const pageErrors: string[] = [];
    const onError = (e: Error) => pageErrors.push(e.message);
    page.on("pageerror", onError);
    await open("/dashboard/walk-forwards");
    const listed = await page.$$eval("#walk-forwards tbody tr", (trs) => trs.map((tr) => tr.getAttribute("data-walk-forward-id")));
    expect(listed).toEqual([walkForwardId]);
    await shot(page, "walk-forwards");
    await Promise.all([page.waitForURL(`**/dashboard/walk-forwards/${walkForwardId}`), page.click(`a[href$="/walk-forwards/${walkForwardId}"]`)]);
    await page.waitForSelector("body[data-ready]");
    expect(await page.getAttribute("body", "data-ready")).toBe("ok");
    const stored = (
      await db.pool.query(
        `SELECT k, to_char(train_start_date, 'YYYY-MM-DD') || ' → ' || to_char(train_end_date, 'YYYY-MM-DD') AS train,
                to_char(test_start_date, 'YYYY-MM-DD') || ' → ' || to_char(test_end_date, 'YYYY-MM-DD') AS test, fast, slow, oos_trades, open_at_end
         FROM walk_forward_windows WHERE walk_forward_id = $1 ORDER BY k`,
        [walkForwardId],
      )
    ).rows;
    expect(stored.length).toBe(8);
    const rows = await page.$$eval("#wf-windows tbody tr", (trs) => trs.map((tr) => [...tr.querySelectorAll("td")].map((td) => td.textContent)));
    expect(rows.map((r) => [r[0], r[1], r[2], r[3], r[4], r[8], r[9]])).toEqual(
      stored.map((w) => [String(w.k), w.train, w.test, String(w.fast), String(w.slow), String(w.oos_trades), w.open_at_end ? "yes" : "no"]),
    );
    for (const r of rows) for (const c of [5, 6, 7]) expect(r[c], `row ${r[0]} column ${c}`).toMatch(/^-?[\d,.]+( %)?$/);
    const wf = (await db.pool.query("SELECT best_fast, best_slow, array_length(best_curve_equity, 1) AS best_points, array_length(curve_equity, 1) AS points FROM walk_forwards WHERE walk_forward_id = $1", [walkForwardId])).rows[0];
    // The best's curve has every bar of the stitched range, the stitched curve skips the 7 later windows' first bars.
    expect(wf.best_points - wf.points).toBe(7);
    expect(await page.textContent("#wf-head")).toContain(`${wf.best_fast}/${wf.best_slow}: Sharpe`);
    await shot(page, "walk-forward");
    // Both curves (stitched: blue, the best: orange-red) and the parameter steps are drawn.
    expect(await canvasInk(page, "#wf-curve canvas", "blue")).toBeGreaterThan(300);
    expect(await canvasInk(page, "#wf-curve canvas", "red")).toBeGreaterThan(300);
    expect(await canvasInk(page, "#wf-params canvas")).toBeGreaterThan(200);
    page.off("pageerror", onError);
    expect(pageErrors).toEqual([]);
  });

  it("walk-forward endpoints name a bad id (400) and an unknown one (404)", async () => {
    const auth = { authorization: `Basic ${Buffer.from(`${UI_USER}:${UI_PASSWORD}`).toString("base64")}` };
    const bad = await fetch(`${base}/dashboard/api/walk-forwards/not%20an%20id`, { headers: auth });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ parameter: "walkForwardId", value: "not an id", error: expect.stringContaining("must be a walk-forward id") });
    const missing = await fetch(`${base}/dashboard/api/walk-forwards/BTC-USD-ema_cross-wf-0123456789`, { headers: auth });
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ error: "no walk-forward BTC-USD-ema_cross-wf-0123456789 stored (it may still be running)" });
    const badLimit = await fetch(`${base}/dashboard/api/walk-forwards?limit=0`, { headers: auth });
    expect(badLimit.status).toBe(400);
    const list = (await (await fetch(`${base}/dashboard/api/walk-forwards?symbol=BTC-USD`, { headers: auth })).json()) as { walkForwards: Array<{ walkForwardId: string }> };
    expect(list.walkForwards.map((w) => w.walkForwardId)).toEqual([walkForwardId]);
    expect((await fetch(`${base}/dashboard/walk-forwards/nope`, { headers: auth })).status).toBe(400);
  });
});
