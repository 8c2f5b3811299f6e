// The pure lifecycle: when a repeat is sent (cooldown, escalation, acknowledgement, backoff), which
// message a stored alert needs, and how long a failed delivery waits.
import { describe, expect, it } from "vitest";
import { messageKind, planRepeat, retryDelayMs } from "../../alerts/lifecycle.ts";
import type { Finding } from "../../alerts/types.ts";

const T0 = new Date("2026-11-22T10:00:00Z");
const at = (s: number) => new Date(T0.getTime() + s * 1000);
const finding = (over: Partial<Finding> = {}): Finding => ({
  rule: "job-failed",
  key: "job-failed:stage:ema",
  severity: "warning",
  level: 0,
  component: "queue:stage",
  title: "t",
  message: "m",
  threshold: 0,
  value: 3,
  ...over,
});
const open = (over: Record<string, unknown> = {}) => ({
  repeat_count: 1,
  notified_at: T0 as Date | null,
  notified_severity: "warning" as const,
  notified_level: 0,
  acknowledged_at: null as Date | null,
  delivery_status: "delivered" as const,
  next_delivery_at: T0,
  last_delivery_error: null as string | null,
  cooldown_s: 900,
  ...over,
});

describe("planRepeat", () => {
  it("folds repeats inside the cooldown into one message at its end", () => {
    const p = planRepeat(open(), finding(), 3, at(60));
    expect(p).toEqual({ severity: "warning", level: 0, schedule: at(900), resetChats: false });
  });

  it("sends at once when the cooldown has passed", () => {
    expect(planRepeat(open(), finding(), 3, at(1000)).schedule).toEqual(at(1000));
  });

  it("keeps the first message's schedule while it has not gone out", () => {
    const p = planRepeat(open({ notified_at: null, notified_severity: null, notified_level: null, delivery_status: "pending", next_delivery_at: at(30) }), finding(), 3, at(10));
    expect(p.schedule).toEqual(at(30));
  });

  it("escalates to critical after more than escalateAfter occurrences, at once, to every chat, even when acknowledged", () => {
    expect(planRepeat(open({ repeat_count: 2 }), finding(), 3, at(60)).severity).toBe("warning");
    const p = planRepeat(open({ repeat_count: 3, acknowledged_at: at(30) }), finding(), 3, at(60));
    expect(p).toEqual({ severity: "critical", level: 0, schedule: at(60), resetChats: true });
  });

  it("a higher level of the same severity (budget 80 % → 90 %) is sent at once", () => {
    expect(planRepeat(open(), finding({ rule: "llm-budget", level: 2 }), undefined, at(60)).schedule).toEqual(at(60));
  });

  it("acknowledged alerts get no reminders", () => {
    expect(planRepeat(open({ acknowledged_at: at(10) }), finding(), 3, at(2000)).schedule).toBeNull();
  });

  it("never schedules before a delivery backoff (retry_after) ends", () => {
    const backingOff = open({ repeat_count: 3, delivery_status: "pending", last_delivery_error: "Telegram 429", next_delivery_at: at(120) });
    expect(planRepeat(backingOff, finding(), 3, at(60)).schedule).toEqual(at(120));
  });
});

describe("messageKind", () => {
  const row = { resolved_at: null as Date | null, severity: "warning" as const, level: 0, notified_at: null as Date | null, notified_severity: null as "warning" | null, notified_level: null as number | null };
  it("new, repeat, escalated, resolved", () => {
    expect(messageKind(row)).toBe("new");
    expect(messageKind({ ...row, notified_at: T0, notified_severity: "warning", notified_level: 0 })).toBe("repeat");
    expect(messageKind({ ...row, severity: "critical", notified_at: T0, notified_severity: "warning", notified_level: 0 } as never)).toBe("escalated");
    expect(messageKind({ ...row, level: 1, notified_at: T0, notified_severity: "warning", notified_level: 0 })).toBe("escalated");
    expect(messageKind({ ...row, resolved_at: T0, notified_at: T0, notified_severity: "warning" })).toBe("resolved");
  });
});

describe("retryDelayMs", () => {
  it("backs off exponentially with jitter up to the cap", () => {
    expect(retryDelayMs(1, undefined, 300_000, () => 0.5)).toBe(2_000);
    expect(retryDelayMs(3, undefined, 300_000, () => 0.5)).toBe(8_000);
    expect(retryDelayMs(30, undefined, 300_000, () => 1)).toBe(300_000);
    expect(retryDelayMs(1, undefined, 300_000, () => 0)).toBe(1_500);
  });

  it("never retries before retry_after, even past the backoff cap", () => {
    expect(retryDelayMs(1, 7_000, 300_000, () => 0.5)).toBe(7_000);
    expect(retryDelayMs(1, 600_000, 300_000, () => 0.5)).toBe(600_000);
  });
});
