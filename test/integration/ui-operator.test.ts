// The operator's side of the UI in headless Chromium: the mode badge names the setting that allows writes,
// a failed job is retried from the fleet overview (write mode only), the charts fit their data, the
// backtests table tells reruns apart, bull-board's jobs link to the dashboard, and no page loads anything
// from outside 127.0.0.1 or logs an error. Data from real runs: three daily refreshes of BTC-USD (an older
// day, a day and a rerun of it) through the real workers with telemetry and five strategies, a small sweep,
// and an LLM task failed by a worker that then went away. Screenshots go to test-artifacts/ui-operator/.
import { mkdirSync, rmSync } from "node:fs";
import type { Server } from "node:http";
import { resolve } from "node:path";
import { Job, UnrecoverableError } from "bullmq";
import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { configRedactor } from "../../alerts/redact.ts";
import { AlertStore } from "../../alerts/store.ts";
import { importPrices } from "../../db/import/import-prices.ts";
import { insertSignal } from "../../db/repos/signals.ts";
import { DATA_DIR } from "../../db/sample-data.ts";
import { parseConfig } from "../../ops/config.ts";
import type { DashboardSources } from "../../apps/web/dashboard/deps.ts";
import { startWorkerObservability, type WorkerObservability } from "../../apps/worker/observability.ts";
import { enqueue } from "../../queues/enqueue.ts";
import { assetJobIds, dailyRefresh, runKey } from "../../queues/flows/daily-refresh.ts";
import { enqueueSweep } from "../../queues/flows/sweep.ts";
import { enqueueWalkForward } from "../../queues/flows/walk-forward.ts";
import { findAsset } from "../../db/repos/assets.ts";
import { countBars } from "../../db/repos/prices.ts";
import { backtestKind, KINDS, llmKind } from "../../queues/registry.ts";
import { newTaskId } from "../../workers/llm/task-id.ts";
import { buildProcessors } from "../../workers/processors.ts";
import { createFleetComputePool } from "../../workers/threads/fleet-pool.ts";
import type { ComputePool } from "../../workers/threads/pool.ts";
import { canvasInk, chartScales, launchChromium, localOnly, openDashboard, SHOTS, shot, skipWithoutChromium, UI_PASSWORD, UI_USER, webPair, type Traffic } from "../helpers/browser.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/db.ts";
import { testFleet, type TestFleet } from "../helpers/fleet.ts";
import { redisUrl } from "../helpers/redis.ts";
import { poll } from "../helpers/wait.ts";

const skip = skipWithoutChromium();

const ARTIFACTS = resolve(SHOTS, "../ui-operator");
const AUTH = { authorization: `Basic ${Buffer.from(`${UI_USER}:${UI_PASSWORD}`).toString("base64")}` };
const OLD_DAY = "2022-06-30";
const DAY = "2022-11-15";
const STRATEGIES = 5; // the three seeded configurations and the two this file adds
const FAVICON = "/dashboard/static/favicon.svg";

const HELP_READ_ONLY =
  "Read-only: write actions (retrying a failed job, acknowledging an alert, bull-board's retry, promote, clean and pause) are refused. To allow them, set BOARD_READ_ONLY=false in the web process's environment and restart it.";
const HELP_WRITABLE =
  "Writable (BOARD_READ_ONLY=false): failed jobs can be retried here and alerts acknowledged, and bull-board's actions are enabled. Set BOARD_READ_ONLY=true (the default) and restart the web process to make both read-only.";

let db: TestDatabase;
let tf: TestFleet;
let compute: ComputePool;
let obs: WorkerObservability;
let processors: ReturnType<typeof buildProcessors>;
let servers: Server[] = [];
let base: string;
let readOnlyBase: string;
let browser: BrowserContext;
let page: Page;
let traffic: Traffic;
let profile: string;
let failedLlmJob: string;
let sweep: { sweepId: string; rootJobId: string };
let walkForward: { walkForwardId: string; rootJobId: string };
const run = runKey(DAY, ["BTC-USD"]);
const rerun = runKey(DAY, ["BTC-USD"], 1);
const oldRun = runKey(OLD_DAY, ["BTC-USD"]);

async function refreshRun(asOf: string, rerunNo?: number): Promise<void> {
  const r = await dailyRefresh(tf.fleet, ["BTC-USD"], asOf, rerunNo ? { rerun: rerunNo } : {});
  await poll(async () => (await Job.fromId(tf.fleet.queue(KINDS.flow), r.rootJobId))?.isCompleted(), `run ${r.runId}`, 30_000);
}

beforeAll(async () => {
  if (skip) return;
  const cfg = parseConfig({ EMA_TIMEFRAMES: "1W", LLM_OFFLINE: "1", RESEARCH_BRIEF: "off" });
  db = await createTestDatabase();
  tf = testFleet("uiop");
  compute = createFleetComputePool(1);
  obs = startWorkerObservability({ service: "worker", cfg, log: tf.log.log, databaseUrl: db.url, redisUrl: redisUrl(), flushMs: 500 });
  await importPrices(db.pool, resolve(DATA_DIR, "BTC-USD_daily.csv"), "BTC-USD", "CRYPTO");
  // Two more strategies: fifteen stored backtests are more than the runs panel shows without scrolling.
  await insertSignal(db.pool, "ema_crossover", "ema_5_30", { fast: 5, slow: 30 });
  await insertSignal(db.pool, "rsi_mean_revert", "rsi_7_25_75", { period: 7, lower: 25, upper: 75 });
  processors = buildProcessors({ pool: db.pool, fleet: tf.fleet, cfg, log: tf.log.log, compute });
  // No llm worker yet: the failed LLM task must stay where a retry puts it until the test looks.
  for (const q of ["flow", "stage", "signal", "backtest"] as const) {
    await tf.worker(KINDS[q], processors[q]!, { concurrency: 2, hooks: obs.hooks });
  }
  // One at a time: runs of the same asset and day write the same feature rows.
  await refreshRun(OLD_DAY);
  await refreshRun(DAY);
  await refreshRun(DAY, 1);
  sweep = await enqueueSweep(tf.fleet, { asset: "BTC-USD", strategy: "ema_cross", fast: [5, 8, 3], slow: [10, 20, 5], feeBps: 10, topN: 3, chunkSize: 4 });
  // Two windows, for the bull-board link of its jobs.
  const btc = (await findAsset(db.pool, "BTC-USD"))!;
  walkForward = await enqueueWalkForward(tf.fleet, { asset: "BTC-USD", strategy: "ema_cross", fast: [5, 8, 3], slow: [10, 20, 5], train: 1_000, test: 1_000, feeBps: 10 }, await countBars(db.pool, btc.asset_id));
  await poll(async () => (await Job.fromId(tf.fleet.queue(backtestKind), sweep.rootJobId))?.isCompleted(), "the sweep's ranking");

  const task = await enqueue(tf.fleet, llmKind, { node: "task", taskId: newTaskId(), prompt: "Summarise today's daily refresh." });
  failedLlmJob = task.id!;
  const failing = await tf.worker(llmKind, () => Promise.reject(new UnrecoverableError("provider unreachable (a worker that fails every job)")));
  await poll(async () => (await Job.fromId(tf.fleet.queue(llmKind), failedLlmJob))?.isFailed(), "the llm task to fail");
  await failing.close();

  await obs.obs.metrics.flush();
  // The flow run of each stored backtest comes from the workflow events its job's transitions wrote.
  await poll(
    async () => {
      const { rows } = await db.pool.query(
        `SELECT (SELECT count(*)::int FROM backtest_runs) AS runs,
                (SELECT count(DISTINCT e.metadata->>'jobId')::int FROM observability.workflow_events e JOIN backtest_runs r ON r.job_id = e.metadata->>'jobId') AS linked`,
      );
      return rows[0].runs === 3 * STRATEGIES && rows[0].linked === rows[0].runs;
    },
    "workflow events of every stored backtest",
  );

  const dashboard: DashboardSources = { db: db.pool, alerts: new AlertStore(db.pool, configRedactor(cfg)), llmTz: cfg.LLM_QUOTA_TZ, log: tf.log.log };
  ({ servers, base, readOnlyBase } = await webPair(tf.fleet, dashboard));

  rmSync(ARTIFACTS, { recursive: true, force: true });
  mkdirSync(ARTIFACTS, { recursive: true });
  // Credentials sent up front, so every 401 in the recorded traffic is a real refusal.
  ({ browser, page, profile } = await launchChromium("ui-operator-chromium-", { sendCredentialsAlways: true }));
  traffic = await localOnly(browser);
}, 120_000);

afterAll(async () => {
  if (skip) return;
  await browser?.close();
  for (const s of servers) await new Promise<void>((r) => (s.close(() => r()), s.closeAllConnections()));
  await tf?.close();
  await obs?.close();
  await compute?.close();
  await db?.drop();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

const open = (url: string) => openDashboard(page, url);

const retryUrl = (at: string, queue: string, jobId: string) => `${at}/dashboard/api/jobs/${encodeURIComponent(queue)}/${encodeURIComponent(jobId)}/retry`;

async function post(url: string, headers: Record<string, string> = {}, body = "{}"): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url, { method: "POST", headers: { ...AUTH, "content-type": "application/json", ...headers }, body });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const llmState = async () => (await Job.fromId(tf.fleet.queue(llmKind), failedLlmJob))!.getState();

describe.skipIf(skip)("operator UI in Chromium", () => {
  it("dashboard pages: our favicon, nothing but 127.0.0.1, no failed request or console error", async () => {
    // The first page this origin serves: Chromium fetches the icon the shell links (and no /favicon.ico,
    // which would be a 404 in the failed responses).
    const icon = page.waitForResponse(`${readOnlyBase}${FAVICON}`);
    for (const path of ["/dashboard", "/dashboard/runs", `/dashboard/runs/${run.runId}`, "/dashboard/alerts", "/dashboard/llm", "/dashboard/backtests", "/dashboard/walk-forwards"]) {
      traffic.clear();
      await open(`${readOnlyBase}${path}`);
      expect(await page.getAttribute("link[rel=icon]", "href"), path).toBe(FAVICON);
      expect({ external: traffic.external, failed: traffic.failed, errors: traffic.errors }, path).toEqual({ external: [], failed: [], errors: [] });
    }
    const r = await icon;
    expect([r.status(), r.headers()["content-type"]]).toEqual([200, "image/svg+xml"]);
    // The browser dropped the body on leaving the page; it is the same file on any request.
    expect(await (await fetch(`${readOnlyBase}${FAVICON}`, { headers: AUTH })).text()).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  });

  it("read-only: the badge names the setting that allows writes; no Retry button, and the endpoint refuses with 403", async () => {
    await open(`${readOnlyBase}/dashboard`);
    expect(await page.textContent("header .mode")).toBe("read-only");
    expect(await page.getAttribute("header .mode", "title")).toBe(HELP_READ_ONLY);
    await page.locator(`#failures tr[data-job="llm/${failedLlmJob}"]`).waitFor();
    expect(await page.locator("#failures button").count()).toBe(0);

    const refused = await post(retryUrl(readOnlyBase, "llm", failedLlmJob));
    expect(refused).toEqual({ status: 403, body: { error: "read-only dashboard (BOARD_READ_ONLY=true): retrying a job is a write action; set BOARD_READ_ONLY=false to allow it" } });
    expect(await llmState()).toBe("failed");
  });

  it("write mode: the endpoint keeps the write rules, and the failure list's Retry button retries the job", async () => {
    const url = retryUrl(base, "llm", failedLlmJob);
    expect((await post(url, { "content-type": "text/plain" })).status).toBe(415);
    expect(await post(url, { origin: "http://evil.example" })).toEqual({ status: 403, body: { error: "cross-origin request from http://evil.example refused" } });
    expect(await post(retryUrl(base, "nosuchqueue", "1"))).toEqual({ status: 404, body: { error: "no queue nosuchqueue" } });
    expect(await post(retryUrl(base, "llm", "no-such-job"))).toEqual({ status: 404, body: { error: "no job no-such-job in queue llm" } });
    const root = `run.${run.runId}`;
    expect(await post(retryUrl(base, "flow", root))).toEqual({ status: 409, body: { error: `job ${root} is completed, not failed: only a failed job can be retried`, state: "completed" } });
    expect(await llmState()).toBe("failed");

    await open(`${base}/dashboard`);
    expect(await page.getAttribute("header .mode", "title")).toBe(HELP_WRITABLE);
    const rows = page.locator("#failures tbody tr");
    expect(await rows.count()).toBeGreaterThan(0);
    expect(await page.locator("#failures tbody tr button[data-retry]").count()).toBe(await rows.count());
    await shot(page, "fleet-failures-retry", ARTIFACTS);
    await page.click(`button[data-retry="llm/${failedLlmJob}"]`);
    await page.locator("#status", { hasText: `retried llm job ${failedLlmJob}: now waiting` }).waitFor();
    // Back to waiting (no llm worker runs), and gone from the list of failures.
    expect(await llmState()).toBe("waiting");
    expect(await page.locator(`#failures tr[data-job="llm/${failedLlmJob}"]`).count()).toBe(0);
    // A worker that works now completes it.
    await tf.worker(llmKind, processors.llm, { concurrency: 1 });
    await poll(async () => (await llmState()) === "completed", "the retried llm task to complete");
  });

  it("fleet charts: a history shorter than the window starts the x axis at the data, which ends at now", async () => {
    const [series] = await Promise.all([
      page.waitForResponse((r) => r.url().startsWith(`${base}/dashboard/api/fleet/series?`)).then((r) => r.json() as Promise<Record<string, any>>),
      open(`${base}/dashboard`),
    ]);
    expect(series.window).toBe(60);
    for (const [id, key] of [["throughput", "throughputPerMin"], ["p95", "p95RunMs"]] as const) {
      const t = series[key].t as number[];
      const { scales, x } = await chartScales(page, id);
      expect(x, id).toEqual(t);
      // The fixture's history is minutes old in a one-hour window.
      expect(t[0]! - series.bucket, id).toBeGreaterThan(series.from);
      expect(scales.x, id).toMatchObject({ min: t[0]! - series.bucket, max: series.until });
    }
    await shot(page, "fleet-overview", ARTIFACTS);
  });

  it("backtests: as-of, rerun and flow-run columns from the API, the selected run in view, an equity axis fitted to the curve", async () => {
    const { runs } = (await (await fetch(`${base}/dashboard/api/backtests?limit=100`, { headers: AUTH })).json()) as {
      runs: Array<{ runId: number; asOf: string | null; rerun: number | null; flowRunId: string | null; maxDrawdown: number }>;
    };
    expect(runs).toHaveLength(3 * STRATEGIES);
    const count = (asOf: string, r: number | null, flowRunId: string) => runs.filter((x) => x.asOf === asOf && x.rerun === r && x.flowRunId === flowRunId).length;
    expect([count(OLD_DAY, null, oldRun.runId), count(DAY, null, run.runId), count(DAY, 1, rerun.runId)]).toEqual([STRATEGIES, STRATEGIES, STRATEGIES]);

    // The oldest run is the table's last row: below the runs panel's fold, so the panel scrolls to it.
    const oldest = runs.at(-1)!;
    await open(`${base}/dashboard/backtests?run=${oldest.runId}`);
    const head = await page.$$eval("#backtests thead th", (ths) => ths.map((th) => th.textContent));
    const cells = await page.$$eval("#backtests tbody tr", (trs) => trs.map((tr) => [...tr.querySelectorAll("td")].map((td) => td.textContent)));
    const col = (label: string) => head.indexOf(label);
    expect(cells.map((c) => [Number(c[col("run")]), c[col("as of")], c[col("rerun")], c[col("flow run")]])).toEqual(
      runs.map((r) => [r.runId, r.asOf, r.rerun === null ? "—" : String(r.rerun), r.flowRunId]),
    );
    expect(await page.getAttribute(`#backtests tr[data-run-id="${runs[0]!.runId}"] a[href$="/runs/${rerun.runId}"]`, "href")).toBe(`/dashboard/runs/${rerun.runId}`);
    const view = await page.$eval("#backtests", (panel) => {
      const p = panel.getBoundingClientRect();
      const r = panel.querySelector("tr.selected")!.getBoundingClientRect();
      const h = panel.querySelector("thead")!.getBoundingClientRect().height;
      return { overflows: panel.scrollHeight > panel.clientHeight, visible: r.top >= p.top + h - 0.5 && r.bottom <= p.bottom + 0.5 };
    });
    expect(view).toEqual({ overflows: true, visible: true });
    expect(await page.textContent("#equity-title")).toMatch(new RegExp(`^run ${oldest.runId} as of ${OLD_DAY}: BTC-USD `));

    // One run whose curve stays within a factor of 10 (linear axis) and one that spans more (log axis).
    const curves = await Promise.all(
      runs.map(async (r) => {
        const c = (await (await fetch(`${base}/dashboard/api/backtests/${r.runId}/equity`, { headers: AUTH })).json()) as { equity: number[]; drawdown: number[] };
        return { run: r, min: Math.min(...c.equity), max: Math.max(...c.equity), maxDd: Math.max(...c.drawdown) };
      }),
    );
    const linear = curves.find((c) => c.max / c.min <= 10);
    const logarithmic = curves.find((c) => c.max / c.min > 10);
    expect(linear && logarithmic, "the fixture has curves of both kinds").toBeTruthy();
    for (const c of [linear!, logarithmic!]) {
      const log = c === logarithmic;
      await open(`${base}/dashboard/backtests?run=${c.run.runId}`);
      const { eq, dd } = (await chartScales(page, "equity")).scales;
      expect(eq!.distr).toBe(log ? 3 : 1);
      expect(eq!.min).toBeLessThan(c.min);
      expect(eq!.max).toBeGreaterThan(c.max);
      // The curve fills 65 % of the axis: the bottom quarter is the drawdown's band, 5 % gaps above and below.
      const f = log ? Math.log10(c.max / c.min) / Math.log10(eq!.max / eq!.min) : (c.max - c.min) / (eq!.max - eq!.min);
      expect(f).toBeCloseTo(0.65, 9);
      // The drawdown hangs from zero in the bottom quarter, on its own axis.
      expect(-dd!.min / (dd!.max - dd!.min)).toBeCloseTo(0.25, 9);
      expect(dd!.min).toBeLessThan(-100 * c.maxDd);
      expect(await canvasInk(page, "#equity canvas", "blue")).toBeGreaterThan(300);
      expect(await canvasInk(page, "#equity canvas", "red")).toBeGreaterThan(300);
      await shot(page, `backtests-${log ? "log" : "linear"}`, ARTIFACTS);
    }
  });

  it("bull-board: a run's jobs link to its dashboard page; our favicon, no external font, nothing but 127.0.0.1", async () => {
    traffic.clear();
    await page.goto(`${base}/admin/queues`);
    for (const q of Object.keys(KINDS)) await page.getByText(q, { exact: true }).first().waitFor();
    expect(await page.getAttribute("link#fav-logo", "href")).toBe(FAVICON);
    const stage = assetJobIds("BTC-USD", rerun)[0]!;
    const links = [
      ["flow", `run.${run.runId}`, `/dashboard/runs/${run.runId}`, `run ${run.runId} on the dashboard`],
      ["stage", stage.id, `/dashboard/runs/${rerun.runId}`, `run ${rerun.runId} on the dashboard`],
      ["backtest", sweep.rootJobId, `/dashboard/backtests?sweep=${sweep.sweepId}`, `sweep ${sweep.sweepId} on the dashboard`],
      ["backtest", walkForward.rootJobId, `/dashboard/walk-forwards/${walkForward.walkForwardId}`, `walk-forward ${walkForward.walkForwardId} on the dashboard`],
    ] as const;
    for (const [queue, jobId, href, text] of links) {
      await page.goto(`${base}/admin/queues/queue/${queue}/${encodeURIComponent(jobId)}`);
      const link = page.locator(`a[href="${href}"]`);
      await link.waitFor();
      expect(await link.textContent(), jobId).toBe(text);
      if (queue === "stage") await shot(page, "bull-board-job-link", ARTIFACTS);
    }
    await open(`${base}/dashboard/runs/${rerun.runId}`);
    await open(`${base}/dashboard/backtests?sweep=${sweep.sweepId}`);
    expect(await page.textContent("#sweeps tr.selected")).toContain(sweep.sweepId);
    expect(traffic.external).toEqual([]);
    expect(traffic.errors).toEqual([]);
    expect(traffic.failed).toEqual([]);
    const html = await (await fetch(`${base}/admin/queues`, { headers: AUTH })).text();
    expect(html).not.toMatch(/https?:\/\/(?!www\.w3\.org)/);
  });

});
