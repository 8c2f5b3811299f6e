// Data-quality checks (seeds 000/003) as pure functions: session-aware gaps, rowcount tolerance, NULLs,
// outliers, freshness, timeframe alignment → a 0–100 score, a status and the issues found.
import { calendarBucket, type CalendarScheme } from "../indicators/timeframe.ts";

export const THRESHOLDS = Object.freeze({ rowcountDeviation: 0.05, nullRatio: 0.1, staleSeconds: 900, completenessPct: 90 });

export type Severity = "info" | "warning" | "critical";
export interface Issue {
  check: string;
  severity: Severity;
  message: string;
  value: number;
  threshold: number;
}

export interface QualityInputs {
  session: "CRYPTO" | "EQUITY";
  /** The asset's bar dates, ascending. */
  dates: readonly string[];
  /** Expected session days in [first bar, as-of]: every calendar day (crypto) or the trading calendar (equity). */
  expected: readonly string[];
  nullRatio: number;
  nullEmas: number;
  outliers: number;
  featureRows: number;
  misaligned: number;
}

export interface QualityReport {
  gaps: number;
  expectedRows: number;
  actualRows: number;
  rowcountDeviation: number;
  completeness: number;
  staleSeconds: number;
  freshnessScore: number;
  outlierScore: number;
  overallScore: number;
  status: "excellent" | "good" | "fair" | "poor";
  issues: Issue[];
}

/** Every calendar day from `from` to `to` inclusive. */
export function calendarDays(from: string, to: string): string[] {
  const out: string[] = [];
  for (let t = Date.parse(`${from}T00:00:00Z`), end = Date.parse(`${to}T00:00:00Z`); t <= end; t += 86_400_000) out.push(new Date(t).toISOString().slice(0, 10));
  return out;
}

/** Canonical calendar bars that are not the last bar of their period present in the data. */
export function misalignedCanonical(dates: readonly string[], canonical: readonly string[], scheme: CalendarScheme, multiple: number): number {
  const index = new Map(dates.map((d, i) => [d, i]));
  let bad = 0;
  for (const d of canonical) {
    const i = index.get(d);
    const next = i === undefined ? undefined : dates[i + 1];
    if (i === undefined || (next !== undefined && calendarBucket(next, scheme, multiple) === calendarBucket(d, scheme, multiple))) bad++;
  }
  return bad;
}

export function statusOf(score: number): QualityReport["status"] {
  return score >= 90 ? "excellent" : score >= 75 ? "good" : score >= 50 ? "fair" : "poor";
}

export function assessQuality(q: QualityInputs): QualityReport {
  const have = new Set(q.dates);
  const lastBar = q.dates.at(-1)!;
  // Gaps and rowcount are judged over the span the asset has data for; staleness covers the rest up to as-of.
  const inSpan = q.expected.filter((d) => d <= lastBar);
  const gaps = inSpan.filter((d) => !have.has(d)).length;
  const expectedRows = inSpan.length;
  const actualRows = q.dates.length;
  const rowcountDeviation = expectedRows ? Math.abs(actualRows - expectedRows) / expectedRows : 0;
  const completeness = expectedRows ? Math.min(100, (100 * actualRows) / expectedRows) : 100;
  const lastExpected = q.expected.at(-1) ?? lastBar;
  const staleSeconds = Math.max(0, (Date.parse(`${lastExpected}T00:00:00Z`) - Date.parse(`${lastBar}T00:00:00Z`)) / 1000);
  const freshnessScore = staleSeconds <= THRESHOLDS.staleSeconds ? 100 : Math.max(0, 100 - (10 * staleSeconds) / 86_400);
  const outlierScore = q.featureRows ? 100 * (1 - q.outliers / q.featureRows) : 100;
  const issues: Issue[] = [];
  const add = (check: string, severity: Severity, message: string, value: number, threshold: number) => issues.push({ check, severity, message, value, threshold });
  if (gaps > 0) add("gaps", "critical", `${gaps} missing ${q.session === "CRYPTO" ? "calendar" : "trading"} day(s)`, gaps, 0);
  if (rowcountDeviation > THRESHOLDS.rowcountDeviation) add("rowcount", "warning", `row count deviates ${(100 * rowcountDeviation).toFixed(1)} % from expected`, rowcountDeviation, THRESHOLDS.rowcountDeviation);
  if (q.nullRatio > THRESHOLDS.nullRatio) add("null_ratio", "warning", `${(100 * q.nullRatio).toFixed(1)} % NULL feature values past warm-up`, q.nullRatio, THRESHOLDS.nullRatio);
  if (q.nullEmas > 0) add("null_emas", "critical", `${q.nullEmas} bar(s) with a NULL EMA past its warm-up`, q.nullEmas, 0);
  if (staleSeconds > THRESHOLDS.staleSeconds) add("freshness", "warning", `last bar ${lastBar} is ${(staleSeconds / 86_400).toFixed(1)} day(s) behind ${lastExpected}`, staleSeconds, THRESHOLDS.staleSeconds);
  if (completeness < THRESHOLDS.completenessPct) add("completeness", "warning", `completeness ${completeness.toFixed(1)} %`, completeness, THRESHOLDS.completenessPct);
  if (q.misaligned > 0) add("alignment", "warning", `${q.misaligned} canonical timeframe bar(s) not on a period end`, q.misaligned, 0);
  if (q.outliers > 0) add("outliers", "info", `${q.outliers} outlier bar(s) flagged (values kept)`, q.outliers, 0);
  const consistency = Math.max(0, 100 - 5 * gaps - 5 * q.misaligned);
  const nullHealth = Math.max(0, 100 * (1 - q.nullRatio) - (q.nullEmas > 0 ? 50 : 0));
  const overallScore = Math.round((0.3 * completeness + 0.2 * freshnessScore + 0.1 * outlierScore + 0.2 * nullHealth + 0.2 * consistency) * 100) / 100;
  return { gaps, expectedRows, actualRows, rowcountDeviation, completeness, staleSeconds, freshnessScore, outlierScore, overallScore, status: statusOf(overallScore), issues };
}
