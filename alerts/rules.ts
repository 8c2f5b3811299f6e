// Every alert rule of the fleet, in one table. A rule names its source (a query the alerts-evaluate task
// runs every minute, or a queue event the watcher sees as it happens), the key that de-duplicates it, the
// value it compares, its levels (threshold → severity), cooldown, escalation and how it resolves.
// README "Alerts and chat-ops" renders this table; evaluate.ts / watch.ts are the only code that runs it.
import type { Config } from "../ops/config.ts";
import { failureText } from "../queues/kinds/flow.ts";
import type { AnyRule, EventRule, Level, Op, QualityRow, QueryRule, Severity, SourceRows, EventRows } from "./types.ts";

export type RuleConfig = Pick<
  Config,
  | "ALERT_BACKLOG_MAX"
  | "ALERT_OLDEST_WAITING_S"
  | "ALERT_BASELINE_FACTOR"
  | "ALERT_BUDGET_LEVELS"
  | "ALERT_ESCALATE_AFTER"
  | "ALERT_COOLDOWN_S"
  | "ALERT_EVENT_COOLDOWN_S"
>;

/** Resource use at or above this share is critical (LLM budgets, Redis memory, PostgreSQL connections). */
export const RESOURCE_CRITICAL_PCT = 95;
const RESOURCE_WARNING_PCT = 80;
const RUN_BADNESS = { completed: 0, partial: 1, failed: 2 } as const;

const query = <Q extends keyof SourceRows>(r: QueryRule<Q>) => r as unknown as AnyRule;
const event = <E extends keyof EventRows>(r: EventRule<E>) => r as unknown as AnyRule;
const pct = (used: number, limit: number) => (limit > 0 ? (used / limit) * 100 : Number.NaN);
const clip = (s: string, n = 300) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);
const when = (ms: number | undefined) => (ms ? new Date(ms).toISOString().replace(/\.\d+Z$/, "Z") : undefined);

/** Data-quality checks (seeds 000/003): one rule per field of the latest quality_metrics row of a symbol. */
function quality(
  name: string,
  label: string,
  value: (r: QualityRow) => number,
  op: Op,
  at: number,
  severity: Severity,
  cooldownS: number,
  unit: "%" | "s" | "" = "",
): AnyRule {
  return query<"quality">({
    name,
    description: `latest data-quality check of a symbol: ${label} ${op} ${at}${unit === "%" ? " %" : unit === "s" ? " s" : ""}`,
    source: { query: "quality" },
    key: (r) => `${name}:${r.symbol}`,
    component: (r) => `data:${r.symbol}`,
    title: (r) => `${r.symbol}: ${label}`,
    value,
    valueLabel: label,
    unit,
    op,
    levels: [{ at, severity }],
    figures: (r) => ({ "as of": r.as_of, "quality score": r.overall_score, checked: when(new Date(r.checked_at).getTime()) }),
    link: () => ({ queue: "stage" }),
    cooldownS,
    resolve: "absent",
  });
}

export function alertRules(cfg: RuleConfig): readonly AnyRule[] {
  const budgetLevels: Level[] = [...cfg.ALERT_BUDGET_LEVELS]
    .sort((a, b) => a - b)
    .map((at, i) => ({ at, severity: i === 0 ? "info" : "warning" }));
  budgetLevels.push({ at: RESOURCE_CRITICAL_PCT, severity: "critical" });
  const cool = cfg.ALERT_COOLDOWN_S;
  return Object.freeze([
    event<"job-failed">({
      name: "job-failed",
      description: "a job failed after its last attempt (or unrecoverably); repeats of the same queue/job name escalate",
      source: { event: "job-failed" },
      key: (r) => `job-failed:${r.queue}:${r.name}`,
      component: (r) => `queue:${r.queue}`,
      title: (r) => `${r.queue}/${r.name} failed after its last attempt`,
      value: (r) => r.attemptsMade,
      valueLabel: "attempts",
      valueText: (r) => `attempts: ${r.attemptsMade} of ${r.attempts}`,
      op: ">=",
      levels: [{ at: 0, severity: "warning" }],
      figures: (r) => ({ job: r.jobId, reason: clip(r.reason), "failed at": when(r.finishedOn) }),
      link: (r) => ({ queue: r.queue, status: "failed" }),
      cooldownS: cfg.ALERT_EVENT_COOLDOWN_S,
      escalateAfter: cfg.ALERT_ESCALATE_AFTER,
      resolve: "quiet",
    }),
    event<"job-stalled">({
      name: "job-stalled",
      description: "a worker lost a job's lock (crashed or blocked event loop); BullMQ moved it back",
      source: { event: "job-stalled" },
      key: (r) => `job-stalled:${r.queue}`,
      component: (r) => `queue:${r.queue}`,
      title: (r) => `${r.queue}: a job stalled`,
      value: () => 1,
      valueLabel: "stalled jobs",
      valueText: (r) => `job ${r.jobId} (${r.name}) lost its lock and was moved back`,
      op: ">=",
      levels: [{ at: 1, severity: "warning" }],
      link: (r) => ({ queue: r.queue, status: "active" }),
      cooldownS: cfg.ALERT_EVENT_COOLDOWN_S,
      escalateAfter: cfg.ALERT_ESCALATE_AFTER,
      resolve: "quiet",
    }),
    event<"flow-run">({
      name: "flow-run",
      description: "a daily-refresh run root ended partial (warning) or failed (critical); the next completed run resolves it",
      source: { event: "flow-run" },
      key: () => "flow-run:daily-refresh",
      component: () => "flow:daily-refresh",
      title: (r) => `daily-refresh run ${r.asOf} ${r.status}`,
      value: (r) => RUN_BADNESS[r.status],
      valueLabel: "run status",
      valueText: (r) => `status: ${r.status} (${r.assets.filter((a) => a.status !== "completed" && a.status !== "skipped").length} of ${r.assets.length} assets not completed)`,
      op: ">=",
      levels: [
        { at: RUN_BADNESS.partial, severity: "warning" },
        { at: RUN_BADNESS.failed, severity: "critical" },
      ],
      figures: (r) => ({
        run: r.runId,
        ...Object.fromEntries(
          r.assets
            .filter((a) => a.status === "failed" || a.status === "partial")
            .slice(0, 10)
            // The root cause and the job it happened in; 10 such lines stay well within a chat message.
            .map((a) => [a.asset, clip([`${a.status}${a.failedAt ? ` at ${a.failedAt}` : ""}`, failureText(a)].filter(Boolean).join(": "), 240)]),
        ),
      }),
      link: (r) => ({ page: `runs/${encodeURIComponent(r.runId)}` }),
      cooldownS: cool,
      resolve: "cleared",
    }),
    query<"queues">({
      name: "queue-backlog",
      description: `waiting jobs of a queue (not paused) > ALERT_BACKLOG_MAX (${cfg.ALERT_BACKLOG_MAX})`,
      source: { query: "queues" },
      key: (r) => `queue-backlog:${r.queue}`,
      component: (r) => `queue:${r.queue}`,
      title: (r) => `${r.queue}: backlog of waiting jobs`,
      value: (r) => (r.paused ? Number.NaN : r.waiting),
      valueLabel: "waiting",
      op: ">",
      levels: [{ at: cfg.ALERT_BACKLOG_MAX, severity: "warning" }],
      figures: (r) => ({ active: r.active, delayed: r.delayed }),
      link: (r) => ({ queue: r.queue, status: "waiting" }),
      cooldownS: cool,
      resolve: "absent",
    }),
    query<"queues">({
      name: "queue-oldest-waiting",
      description: `oldest waiting job of a queue (not paused) older than ALERT_OLDEST_WAITING_S (${cfg.ALERT_OLDEST_WAITING_S} s)`,
      source: { query: "queues" },
      key: (r) => `queue-oldest-waiting:${r.queue}`,
      component: (r) => `queue:${r.queue}`,
      title: (r) => `${r.queue}: jobs wait too long`,
      value: (r) => (r.paused || r.oldestWaitingS === null ? Number.NaN : r.oldestWaitingS),
      valueLabel: "oldest waiting",
      unit: "s",
      op: ">",
      levels: [{ at: cfg.ALERT_OLDEST_WAITING_S, severity: "warning" }],
      figures: (r) => ({ waiting: r.waiting, active: r.active }),
      link: (r) => ({ queue: r.queue, status: "waiting" }),
      cooldownS: cool,
      resolve: "absent",
    }),
    query<"baseline">({
      name: "metric-baseline",
      description: `a metric's p50 over the last hour > ALERT_BASELINE_FACTOR (${cfg.ALERT_BASELINE_FACTOR}×) its p50 over 7 days`,
      source: { query: "baseline" },
      key: (r) => `metric-baseline:${r.metric}:${r.queue}`,
      component: (r) => `queue:${r.queue}`,
      title: (r) => `${r.queue}: ${r.metric} above its 7-day baseline`,
      value: (r) => (r.p50Week > 0 ? r.p50Hour / r.p50Week : Number.NaN),
      valueLabel: "p50 last hour / p50 7 days",
      unit: "×",
      op: ">",
      levels: [{ at: cfg.ALERT_BASELINE_FACTOR, severity: "warning" }],
      figures: (r) => ({ "p50 last hour": r.p50Hour, "p50 7 days": r.p50Week, samples: `${r.samplesHour} (1 h) / ${r.samplesWeek} (7 d)` }),
      link: (r) => ({ queue: r.queue }),
      cooldownS: cool,
      resolve: "absent",
    }),
    quality("dq-gaps", "gaps in the bars", (r) => r.gaps, ">", 0, "critical", cool),
    quality("dq-rowcount", "row count deviation", (r) => Math.abs(r.rowcount_deviation) * 100, ">", 5, "warning", cool, "%"),
    quality("dq-null-ema", "NULL EMA values", (r) => r.null_ema_count, ">", 0, "critical", cool),
    quality("dq-score", "quality score", (r) => r.overall_score, "<", 50, "critical", cool),
    quality("dq-stale", "data staleness", (r) => r.stale_seconds, ">", 900, "warning", cool, "s"),
    quality("dq-completeness", "completeness", (r) => r.completeness_score, "<", 90, "warning", cool, "%"),
    quality("dq-issues", "quality issues", (r) => r.issue_count, ">", 10, "warning", cool),
    query<"budgets">({
      name: "llm-budget",
      description: `LLM provider's daily budget used ≥ ${budgetLevels.map((l) => `${l.at} % (${l.severity})`).join(", ")}`,
      source: { query: "budgets" },
      key: (r) => `llm-budget:${r.provider}`,
      component: (r) => `llm:${r.provider}`,
      title: (r) => `LLM budget of ${r.provider} for today`,
      value: (r) => pct(r.used, r.limit),
      valueLabel: "used",
      unit: "%",
      op: ">=",
      levels: budgetLevels,
      figures: (r) => ({ usage: `${r.used} of ${r.limit}${r.measure ? ` ${r.measure}` : ""} today` }),
      link: () => ({ page: "llm" }),
      cooldownS: cool,
      resolve: "absent",
    }),
    query<"resources">({
      name: "resource-use",
      description: `Redis memory (of maxmemory) or PostgreSQL connections (of max_connections) ≥ ${RESOURCE_WARNING_PCT} % (warning), ≥ ${RESOURCE_CRITICAL_PCT} % (critical)`,
      source: { query: "resources" },
      key: (r) => `resource-use:${r.resource}`,
      component: (r) => r.resource,
      title: (r) => `${r.resource} nearly exhausted`,
      value: (r) => pct(r.used, r.limit),
      valueLabel: "used",
      unit: "%",
      op: ">=",
      levels: [
        { at: RESOURCE_WARNING_PCT, severity: "warning" },
        { at: RESOURCE_CRITICAL_PCT, severity: "critical" },
      ],
      figures: (r) => ({ usage: `${r.used} of ${r.limit}` }),
      link: () => ({ page: "" }),
      cooldownS: cool,
      resolve: "absent",
    }),
  ]);
}

export function ruleByName(rules: readonly AnyRule[], name: string): AnyRule {
  const rule = rules.find((r) => r.name === name);
  if (!rule) throw new Error(`unknown alert rule ${JSON.stringify(name)}`);
  return rule;
}
