// observability.alerts: the alert store and delivery outbox (alerts). One statement per function;
// `now` is always a parameter so the lifecycle (cooldowns, backoff, quiet periods) is testable.
import type { Pool, PoolClient } from "../pool.ts";

type Db = Pool | PoolClient;
export type AlertSeverity = "info" | "warning" | "critical";
export type DeliveryStatus = "pending" | "delivered" | "failed" | "disabled";

export interface AlertRow {
  alert_id: number;
  alert_key: string;
  alert_type: string;
  severity: AlertSeverity;
  level: number;
  component: string;
  title: string;
  message: string;
  threshold_value: number | null;
  current_value: number | null;
  triggered_at: Date;
  last_seen_at: Date;
  repeat_count: number;
  resolved_at: Date | null;
  acknowledged_at: Date | null;
  acknowledged_by: string | null;
  delivery_status: DeliveryStatus;
  delivery_attempts: number;
  next_delivery_at: Date;
  last_delivery_error: string | null;
  metadata: Record<string, unknown>;
  cooldown_s: number;
  revision: number;
  notified_at: Date | null;
  notified_severity: AlertSeverity | null;
  notified_level: number | null;
  notified_repeat_count: number;
  delivered_chats: string[];
}

export interface NewAlert {
  key: string;
  type: string;
  severity: AlertSeverity;
  level: number;
  component: string;
  title: string;
  message: string;
  threshold: number | null;
  value: number | null;
  cooldownS: number;
  metadata: Record<string, unknown>;
}

// bigint ids come back from pg as strings; the rest of the code treats them as numbers.
const row = (r: AlertRow): AlertRow => ({ ...r, alert_id: Number(r.alert_id) });
const RANK = (col: string) => `array_position(ARRAY['info','warning','critical']::text[], ${col})`;

/** The open alert of a key, locked for the caller's transaction. */
export async function lockOpenAlert(db: PoolClient, key: string): Promise<AlertRow | undefined> {
  const { rows } = await db.query<AlertRow>(`SELECT * FROM observability.alerts WHERE alert_key = $1 AND resolved_at IS NULL FOR UPDATE`, [key]);
  return rows.map(row)[0];
}

/** A new open alert, due for delivery at once; undefined when another writer opened the key first. */
export async function insertAlert(db: Db, a: NewAlert, now: Date): Promise<AlertRow | undefined> {
  const { rows } = await db.query<AlertRow>(
    `INSERT INTO observability.alerts (alert_key, alert_type, severity, level, component, title, message, threshold_value,
       current_value, cooldown_s, metadata, triggered_at, last_seen_at, next_delivery_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12, $12)
     ON CONFLICT (alert_key) WHERE resolved_at IS NULL DO NOTHING
     RETURNING *`,
    [a.key, a.type, a.severity, a.level, a.component, a.title, a.message, a.threshold, a.value, a.cooldownS, a.metadata, now],
  );
  return rows.map(row)[0];
}

export interface RepeatPatch {
  severity: AlertSeverity;
  level: number;
  /** When the next message is due; null = this repeat needs no message (acknowledged). */
  schedule: Date | null;
  /** A different message (escalation) starts: every chat gets it. */
  resetChats: boolean;
}

/** Another occurrence of an open alert: latest figures, one more repeat, and the planned delivery. */
export async function updateOpenAlert(db: PoolClient, id: number, a: NewAlert, p: RepeatPatch, now: Date): Promise<AlertRow> {
  const { rows } = await db.query<AlertRow>(
    `UPDATE observability.alerts SET severity = $2, level = $3, title = $4, message = $5, threshold_value = $6,
       current_value = $7, metadata = $8, last_seen_at = $9, repeat_count = repeat_count + 1,
       delivery_status = CASE WHEN $10::timestamptz IS NULL THEN delivery_status ELSE 'pending' END,
       next_delivery_at = COALESCE($10::timestamptz, next_delivery_at),
       revision = revision + CASE WHEN $10::timestamptz IS NULL THEN 0 ELSE 1 END,
       delivered_chats = CASE WHEN $11 THEN '{}'::text[] ELSE delivered_chats END
     WHERE alert_id = $1 RETURNING *`,
    [id, p.severity, p.level, a.title, a.message, a.threshold, a.value, a.metadata, now, p.schedule, p.resetChats],
  );
  return row(rows[0]!);
}

export interface ResolveFilter {
  type?: string;
  key?: string;
  /** Keys still firing: left open. */
  exceptKeys?: string[];
  /** Only alerts not seen for this long; null = the alert's own cooldown. */
  quietS: number | null;
}

/** Closes matching open alerts and queues their resolution message; returns the closed keys. */
export async function resolveAlerts(db: Db, f: ResolveFilter, now: Date): Promise<Array<{ alert_id: number; alert_key: string }>> {
  const { rows } = await db.query<{ alert_id: number; alert_key: string }>(
    `UPDATE observability.alerts SET resolved_at = $1::timestamptz, revision = revision + 1, delivered_chats = '{}',
       delivery_status = CASE WHEN delivery_status = 'failed' THEN 'failed' ELSE 'pending' END,
       -- A delivery backing off (Telegram said retry_after) keeps its deadline.
       next_delivery_at = CASE WHEN delivery_status = 'pending' AND last_delivery_error IS NOT NULL
                               THEN greatest(next_delivery_at, $1::timestamptz) ELSE $1::timestamptz END
     WHERE resolved_at IS NULL
       AND ($2::text IS NULL OR alert_type = $2)
       AND ($3::text IS NULL OR alert_key = $3)
       AND NOT (alert_key = ANY($4::text[]))
       AND last_seen_at <= $1::timestamptz - make_interval(secs => COALESCE($5::float8, cooldown_s))
     RETURNING alert_id::float8 AS alert_id, alert_key`,
    [now, f.type ?? null, f.key ?? null, f.exceptKeys ?? [], f.quietS],
  );
  return rows;
}

/** Claims the most overdue pending alert for one delivery attempt; the lease covers a crashed deliverer. */
export async function claimDueAlert(db: Db, now: Date, leaseS: number): Promise<AlertRow | undefined> {
  const { rows } = await db.query<AlertRow>(
    `UPDATE observability.alerts SET next_delivery_at = $1::timestamptz + make_interval(secs => $2), delivery_attempts = delivery_attempts + 1
     WHERE alert_id = (SELECT alert_id FROM observability.alerts WHERE delivery_status = 'pending' AND next_delivery_at <= $1::timestamptz
                       ORDER BY next_delivery_at, alert_id LIMIT 1 FOR UPDATE SKIP LOCKED)
     RETURNING *`,
    [now, leaseS],
  );
  return rows.map(row)[0];
}

/**
 * The claimed message reached every chat. If the alert changed meanwhile (revision moved on), it stays
 * pending: a resolution or escalation at once, a repeat after the cooldown, nothing more once acknowledged.
 */
export async function markSent(db: Db, sent: AlertRow, done: "delivered" | "disabled", now: Date): Promise<void> {
  const raisedOrResolved = `(resolved_at IS NOT NULL OR (${RANK("severity")}, level) > (${RANK("$3")}, $4::smallint))`;
  await db.query(
    `UPDATE observability.alerts SET notified_at = $2::timestamptz, notified_severity = $3, notified_level = $4, notified_repeat_count = $5,
       delivered_chats = '{}', last_delivery_error = NULL, delivery_attempts = 0,
       delivery_status = CASE WHEN revision = $6 THEN $7
                              WHEN ${raisedOrResolved} THEN 'pending'
                              WHEN acknowledged_at IS NOT NULL THEN $7 ELSE 'pending' END,
       next_delivery_at = CASE WHEN revision = $6 THEN next_delivery_at
                               WHEN ${raisedOrResolved} THEN $2::timestamptz
                               ELSE $2::timestamptz + make_interval(secs => cooldown_s) END
     WHERE alert_id = $1`,
    [sent.alert_id, now, sent.severity, sent.level, sent.repeat_count, sent.revision, done],
  );
}

export interface DeliveryFailure {
  error: string;
  retryAt: Date;
  /** Chats that did get the claimed message before the failure. */
  deliveredChats: string[];
  /** The message can never be delivered as is (e.g. 400/403): stop retrying it. */
  permanent: boolean;
}

export async function markDeliveryFailed(db: Db, sent: AlertRow, f: DeliveryFailure): Promise<void> {
  await db.query(
    `UPDATE observability.alerts SET last_delivery_error = $2, next_delivery_at = $3,
       -- Chats that got the claimed message count only while the same message is still the one to send.
       delivered_chats = CASE WHEN resolved_at IS NOT DISTINCT FROM $4 AND severity = $5 AND level = $6
                              THEN ARRAY(SELECT DISTINCT unnest(delivered_chats || $7::text[])) ELSE delivered_chats END,
       delivery_status = CASE WHEN $8 THEN 'failed' ELSE delivery_status END
     WHERE alert_id = $1`,
    [sent.alert_id, f.error, f.retryAt, sent.resolved_at, sent.severity, sent.level, f.deliveredChats, f.permanent],
  );
}

/** Acknowledges an open alert (no more reminders); undefined when it is unknown, resolved or already acknowledged. */
export async function acknowledgeAlert(db: Db, id: number, by: string, now: Date): Promise<AlertRow | undefined> {
  const { rows } = await db.query<AlertRow>(
    `UPDATE observability.alerts SET acknowledged_at = $3, acknowledged_by = $2,
       delivery_status = CASE WHEN delivery_status = 'pending' AND notified_at IS NOT NULL AND resolved_at IS NULL
                              AND (${RANK("severity")}, level) <= (${RANK("notified_severity")}, notified_level)
                              THEN 'delivered' ELSE delivery_status END
     WHERE alert_id = $1 AND resolved_at IS NULL AND acknowledged_at IS NULL RETURNING *`,
    [id, by, now],
  );
  return rows.map(row)[0];
}

export async function getAlert(db: Db, id: number): Promise<AlertRow | undefined> {
  const { rows } = await db.query<AlertRow>(`SELECT * FROM observability.alerts WHERE alert_id = $1`, [id]);
  return rows.map(row)[0];
}

/** Open alerts per severity, for /status. */
export async function openAlertCounts(db: Db): Promise<Array<{ severity: AlertSeverity; open: number; unacknowledged: number }>> {
  const { rows } = await db.query<{ severity: AlertSeverity; open: number; unacknowledged: number }>(
    `SELECT severity, count(*)::int AS open, count(*) FILTER (WHERE acknowledged_at IS NULL)::int AS unacknowledged
     FROM observability.alerts WHERE resolved_at IS NULL GROUP BY severity ORDER BY ${RANK("severity")} DESC`,
  );
  return rows;
}
