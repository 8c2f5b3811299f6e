// The research brief's prompt (workers/llm/templates/research-brief.ts): every context value appears in it,
// section by section, and missing data is said to be missing rather than left out silently.
import { describe, expect, it } from "vitest";
import { buildResearchBriefPrompt, MAX_WINDOWS, type ResearchBriefContext } from "../../workers/llm/templates/research-brief.ts";
import { researchBriefJobId, researchBriefTaskId, TASK_ID } from "../../queues/kinds/llm.ts";

const ctx: ResearchBriefContext = {
  run: {
    runId: "2022-11-15-abcd1234",
    asOf: "2022-11-15",
    status: "partial",
    assets: [
      {
        asset: "BTC-USD",
        status: "partial",
        quality: { score: 87.5, status: "good" },
        strategies: [
          { signalId: 1, name: "ema_9_21", status: "completed", sharpe: 1.234, totalReturn: 0.4567 },
          { signalId: 2, name: "rsi_14_30_70", status: "failed", reason: "child failed", cause: { reason: "boom in signal", queue: "signal", jobId: "signal.2.BTC-USD" } },
        ],
      },
      { asset: "SPY", status: "failed", failedAt: "features", reason: "no rows" },
    ],
  },
  quality: [{ symbol: "BTC-USD", overallScore: 87.5, status: "good", issues: [{ check: "gaps", severity: "critical", message: "3 missing bars since 2022-11-10" }] }],
  positions: [
    { symbol: "BTC-USD", strategy: "ema_9_21", event: "opened", entryDate: "2022-11-15", entryPrice: 16_800.5, exitDate: null, exitPrice: null },
    { symbol: "BTC-USD", strategy: "rsi_14_30_70", event: "closed", entryDate: "2022-11-01", entryPrice: 20_400, exitDate: "2022-11-15", exitPrice: 16_700.25 },
  ],
  sweeps: [
    { symbol: "BTC-USD", sweepId: "BTC-USD-ema_cross-sw-1", strategy: "ema_cross", combos: 210, finishedAt: "2022-11-14 09:00", bestFast: 12, bestSlow: 48, bestSharpe: 1.8765, bestTotalReturn: 2.5, dsr: 0.9731, pbo: 0.125, researchSkipped: null, pboSkipped: null },
    { symbol: "SPY", sweepId: "SPY-ema_cross-sw-2", strategy: "ema_cross", combos: 4, finishedAt: "2022-11-13 09:00", bestFast: null, bestSlow: null, bestSharpe: null, bestTotalReturn: null, dsr: null, pbo: null, researchSkipped: "fewer than 2 returns per block", pboSkipped: null },
    { symbol: "ETH-USD", sweepId: "ETH-USD-ema_cross-sw-3", strategy: "ema_cross", combos: 500_500, finishedAt: "2022-11-12 09:00", bestFast: 20, bestSlow: 90, bestSharpe: 1.25, bestTotalReturn: 4, dsr: 0.8123, pbo: null, researchSkipped: null, pboSkipped: "N = 500500 combinations: PBO is computed for sweeps of up to 100000" },
  ],
  walkForwards: [
    {
      symbol: "BTC-USD",
      walkForwardId: "BTC-USD-ema_cross-wf-1",
      strategy: "ema_cross",
      wfe: 0.61,
      windows: [
        { k: 0, testStart: "2020-01-01", testEnd: "2020-12-31", fast: 10, slow: 50, oosSharpe: 0.9 },
        { k: 1, testStart: "2021-01-01", testEnd: "2021-12-31", fast: 10, slow: 50, oosSharpe: -0.2 },
        { k: 2, testStart: "2022-01-01", testEnd: "2022-11-15", fast: 25, slow: 120, oosSharpe: 0.35 },
      ],
    },
  ],
};

describe("buildResearchBriefPrompt", () => {
  const prompt = buildResearchBriefPrompt(ctx);

  it("states the run, its day and its status", () => {
    expect(prompt).toContain("run 2022-11-15-abcd1234 (as of 2022-11-15); the run ended partial");
  });

  it("carries the per-asset summary with strategies and root causes", () => {
    expect(prompt).toContain("- BTC-USD: partial, quality 87.5 (good)");
    expect(prompt).toContain("  - ema_9_21 (#1): Sharpe 1.23, total return 45.67%");
    expect(prompt).toContain("  - rsi_14_30_70 (#2): failed: boom in signal (job signal/signal.2.BTC-USD)");
    expect(prompt).toContain("- SPY: failed, failed at features: no rows");
  });

  it("carries the data-quality issues", () => {
    expect(prompt).toContain("- BTC-USD: score 87.5 (good), 1 issue(s)");
    expect(prompt).toContain("  - [critical] gaps: 3 missing bars since 2022-11-10");
  });

  it("carries the positions opened and closed on the day", () => {
    expect(prompt).toContain("- BTC-USD ema_9_21: opened (entry 2022-11-15 at 16800.5000)");
    expect(prompt).toContain("- BTC-USD rsi_14_30_70: closed (entry 2022-11-01 at 20400.0000, exit 2022-11-15 at 16700.2500)");
  });

  it("carries the latest sweep's best with DSR and PBO, or why they are missing", () => {
    expect(prompt).toContain(
      "- BTC-USD ema_cross sweep BTC-USD-ema_cross-sw-1 (210 combinations, finished 2022-11-14 09:00 UTC): best fast 12 / slow 48, Sharpe 1.88, total return 250.00%; DSR 0.973, PBO 0.125",
    );
    expect(prompt).toContain("SPY-ema_cross-sw-2 (4 combinations, finished 2022-11-13 09:00 UTC): best combination unknown; DSR/PBO n/a (fewer than 2 returns per block)");
    // A sweep over the PBO's size limit keeps its DSR, and says why the PBO alone is missing.
    expect(prompt).toContain("best fast 20 / slow 90, Sharpe 1.25, total return 400.00%; DSR 0.812, PBO n/a (N = 500500 combinations: PBO is computed for sweeps of up to 100000)");
  });

  it("carries the walk-forward's chosen parameters per window and their drift", () => {
    expect(prompt).toContain("- BTC-USD ema_cross walk-forward BTC-USD-ema_cross-wf-1: 3 window(s), WFE 0.61, fast 10..25, slow 50..120, 1 parameter change(s) between consecutive windows");
    expect(prompt).toContain("  - window 0 (test 2020-01-01..2020-12-31): fast 10 / slow 50, OOS Sharpe 0.90");
    expect(prompt).toContain("  - window 2 (test 2022-01-01..2022-11-15): fast 25 / slow 120, OOS Sharpe 0.35");
  });

  it("keeps the sections in order and ends with the instructions", () => {
    const at = (s: string) => prompt.indexOf(s);
    const sections = ["## Run summary per asset", "## Data quality on the day", "## Positions as of the day", "## Latest parameter sweep", "## Walk-forward"];
    for (let i = 1; i < sections.length; i++) expect(at(sections[i - 1]!)).toBeLessThan(at(sections[i]!));
    expect(prompt.trimEnd().endsWith("up to three next research steps.")).toBe(true);
  });

  it("says when a section has no data", () => {
    const bare = buildResearchBriefPrompt({ ...ctx, quality: [], positions: [], sweeps: [], walkForwards: [] });
    expect(bare).toContain("- no data-quality check recorded for the day");
    expect(bare).toContain("- no position opened, closed or open on the day");
    expect(bare).toContain("- no sweep recorded for these assets");
    expect(bare).toContain("- no walk-forward recorded for these assets");
  });

  it("lists at most the last MAX_WINDOWS windows while the drift summary covers all", () => {
    const windows = Array.from({ length: MAX_WINDOWS + 6 }, (_, k) => ({ k, testStart: "2020-01-01", testEnd: "2020-02-01", fast: 5 + k, slow: 100, oosSharpe: 0 }));
    const p = buildResearchBriefPrompt({ ...ctx, walkForwards: [{ ...ctx.walkForwards[0]!, windows }] });
    expect(p).toContain(`${MAX_WINDOWS + 6} window(s)`);
    expect(p).toContain(`fast 5..${5 + MAX_WINDOWS + 5}`);
    expect(p).toContain(`(last ${MAX_WINDOWS} windows shown)`);
    expect(p).not.toContain("  - window 5 (");
    expect(p).toContain("  - window 6 (");
  });

  it("is pure: the same context gives the same prompt", () => {
    expect(buildResearchBriefPrompt(ctx)).toBe(prompt);
  });
});

describe("research brief ids", () => {
  it("derive from the run id: one brief job and one LLM task per run", () => {
    expect(researchBriefJobId("2022-11-15-abcd1234")).toBe("research-brief.2022-11-15-abcd1234");
    const id = researchBriefTaskId("2022-11-15-abcd1234", "2022-11-15");
    expect(id).toMatch(TASK_ID);
    expect(id.startsWith("brief_20221115_")).toBe(true);
    expect(researchBriefTaskId("2022-11-15-abcd1234", "2022-11-15")).toBe(id);
    expect(researchBriefTaskId("2022-11-15.r1-abcd1234", "2022-11-15")).not.toBe(id);
  });
});
