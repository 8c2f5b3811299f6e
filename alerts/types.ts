// The vocabulary of alerting: severities, rules (one declarative table in rules.ts) and the findings a rule
// yields for a row of its source.
import type { RunSummary } from "../queues/kinds/flow.ts";

export type Severity = "info" | "warning" | "critical";
export const SEVERITIES: readonly Severity[] = ["info", "warning", "critical"];
export const severityRank = (s: Severity | null | undefined): number => (s ? SEVERITIES.indexOf(s) : -1);

/** A threshold and the severity once it is crossed; a rule lists them mild → severe. */
export interface Level {
  at: number;
  severity: Severity;
}

export type Op = ">" | ">=" | "<";

/** Rows each source yields (see sources.ts for queries, watch.ts for events). */
export interface QueueRow {
  queue: string;
  waiting: number;
  active: number;
  delayed: number;
  failed: number;
  paused: boolean;
  oldestWaitingS: number | null;
}

export interface QualityRow {
  symbol: string;
  as_of: string;
  checked_at: Date;
  overall_score: number;
  completeness_score: number;
  issue_count: number;
  gaps: number;
  rowcount_deviation: number;
  null_ema_count: number;
  stale_seconds: number;
}

export interface BaselineRow {
  metric: string;
  queue: string;
  p50Hour: number;
  p50Week: number;
  samplesHour: number;
  samplesWeek: number;
}

export interface BudgetRow {
  provider: string;
  used: number;
  limit: number;
  /** What is counted against the daily budget. */
  measure?: "requests" | "tokens";
}

export interface ResourceRow {
  resource: "redis-memory" | "pg-connections";
  used: number;
  limit: number;
}

export interface FailedJobRow {
  queue: string;
  jobId: string;
  name: string;
  attemptsMade: number;
  attempts: number;
  reason: string;
  finishedOn?: number;
}

export interface StalledJobRow {
  queue: string;
  jobId: string;
  name: string;
}

/** A run root's result, as the flow worker built it (each failed asset with its root cause). */
export type FlowRunRow = RunSummary;

export interface SourceRows {
  queues: QueueRow;
  quality: QualityRow;
  baseline: BaselineRow;
  budgets: BudgetRow;
  resources: ResourceRow;
}

export interface EventRows {
  "job-failed": FailedJobRow;
  "job-stalled": StalledJobRow;
  "flow-run": FlowRunRow;
}

/** Where a finding points the operator: a bull-board queue page (optionally a job state tab), or a page of the ops dashboard ("" = overview). */
export interface LinkTarget {
  queue?: string;
  status?: "failed" | "waiting" | "active" | "delayed" | "completed";
  page?: string;
}

type Figures = Record<string, string | number | undefined>;

export interface RuleBody<Row> {
  name: string;
  /** One line for the README table: what the rule watches. */
  description: string;
  key(row: Row): string;
  component(row: Row): string;
  title(row: Row): string;
  /** What the thresholds compare against, with its label and unit for the message. */
  value(row: Row): number;
  valueLabel: string;
  /** Replaces the "label: value (threshold …)" line where the event itself is the condition. */
  valueText?(row: Row): string;
  unit?: "%" | "s" | "ms" | "×" | "";
  op: Op;
  levels: readonly Level[];
  figures?(row: Row): Figures;
  link?(row: Row): LinkTarget;
  cooldownS: number;
  /** Repeats (occurrences) after which the alert becomes critical. */
  escalateAfter?: number;
  /**
   * How an open alert ends: "absent" — an evaluation no longer finds its key; "quiet" — no occurrence for
   * cooldownS; "cleared" — a row of the same source that does not fire resolves its key.
   */
  resolve: "absent" | "quiet" | "cleared";
}

export type QueryRule<Q extends keyof SourceRows = keyof SourceRows> = RuleBody<SourceRows[Q]> & { source: { query: Q } };
export type EventRule<E extends keyof EventRows = keyof EventRows> = RuleBody<EventRows[E]> & { source: { event: E } };
export type AnyRule = { [Q in keyof SourceRows]: QueryRule<Q> }[keyof SourceRows] | { [E in keyof EventRows]: EventRule<E> }[keyof EventRows];

/** What a firing rule says about one row; stored in observability.alerts. */
export interface Finding {
  rule: string;
  key: string;
  severity: Severity;
  level: number;
  component: string;
  title: string;
  /** The key figures, one per line. */
  message: string;
  threshold: number;
  value: number;
  link?: LinkTarget;
}
