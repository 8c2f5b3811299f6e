// Pure decisions of an alert's life: what a repeat changes and when the next message is due, which
// message a stored alert needs now, and how long a failed delivery waits.
import type { AlertRow } from "../db/repos/alerts.ts";
import { severityRank, type Finding, type Severity } from "./types.ts";

export type MessageKind = "new" | "repeat" | "escalated" | "resolved";

type Notified = Pick<AlertRow, "notified_at" | "notified_severity" | "notified_level">;

/** (severity, level) above what the chats were last told. */
export function raisedSince(row: Notified, severity: Severity, level: number): boolean {
  if (!row.notified_at) return false;
  const a = severityRank(severity);
  const b = severityRank(row.notified_severity);
  return a > b || (a === b && level > (row.notified_level ?? -1));
}

export interface RepeatPlan {
  severity: Severity;
  level: number;
  schedule: Date | null;
  resetChats: boolean;
}

type OpenAlert = Pick<
  AlertRow,
  "repeat_count" | "notified_at" | "notified_severity" | "notified_level" | "acknowledged_at" | "delivery_status" | "next_delivery_at" | "last_delivery_error" | "cooldown_s"
>;

/**
 * Another occurrence of an open alert. A raise (severity or level, including escalation after
 * `escalateAfter` repeats) is sent at once even when acknowledged; other repeats are folded into one
 * message per cooldown carrying the repeat count, and none once acknowledged. A delivery that is backing
 * off keeps its deadline.
 */
export function planRepeat(open: OpenAlert, f: Finding, escalateAfter: number | undefined, now: Date): RepeatPlan {
  const repeats = open.repeat_count + 1;
  const severity: Severity = escalateAfter !== undefined && repeats > escalateAfter ? "critical" : f.severity;
  const level = f.level;
  const backoff = open.delivery_status === "pending" && open.last_delivery_error ? open.next_delivery_at.getTime() : 0;
  const at = (t: number) => new Date(Math.max(t, backoff, now.getTime()));
  if (!open.notified_at) {
    // The first message has not gone out yet; it will carry the latest figures and count.
    const pending = open.delivery_status === "pending";
    return { severity, level, schedule: pending ? open.next_delivery_at : now, resetChats: false };
  }
  if (raisedSince(open, severity, level)) return { severity, level, schedule: at(now.getTime()), resetChats: true };
  if (open.acknowledged_at) return { severity, level, schedule: null, resetChats: false };
  return { severity, level, schedule: at(open.notified_at.getTime() + open.cooldown_s * 1000), resetChats: false };
}

export function messageKind(row: Pick<AlertRow, "resolved_at" | "severity" | "level"> & Notified): MessageKind {
  if (row.resolved_at) return "resolved";
  if (!row.notified_at) return "new";
  return raisedSince(row, row.severity, row.level) ? "escalated" : "repeat";
}

/** Exponential backoff with ±25 % jitter, never earlier than the server's retry_after. */
export function retryDelayMs(attempts: number, retryAfterMs: number | undefined, maxBackoffMs: number, random = Math.random): number {
  const base = Math.min(maxBackoffMs, 2_000 * 2 ** Math.max(0, attempts - 1));
  const jittered = Math.round(base * (0.75 + random() * 0.5));
  return Math.max(retryAfterMs ?? 0, Math.min(jittered, maxBackoffMs));
}
