// Store first, deliver later: a finding becomes (or repeats) the open alert of its key in one transaction,
// with its next delivery planned by lifecycle.ts. Every stored text is redacted first.
import { inTransaction, type Pool } from "../db/pool.ts";
import { acknowledgeAlert, getAlert, insertAlert, lockOpenAlert, resolveAlerts, updateOpenAlert, type AlertRow, type NewAlert, type ResolveFilter } from "../db/repos/alerts.ts";
import { planRepeat } from "./lifecycle.ts";
import type { Redactor } from "./redact.ts";
import type { Finding } from "./types.ts";

export class AlertStoreError extends Error {
  override name = "AlertStoreError";
}

export interface Recorded {
  row: AlertRow;
  /** A new open alert (as opposed to a repeat of an open one). */
  opened: boolean;
}

export class AlertStore {
  constructor(
    readonly pool: Pool,
    private readonly redact: Redactor,
  ) {}

  async record(f: Finding, rule: { cooldownS: number; escalateAfter?: number }, now = new Date()): Promise<Recorded> {
    const alert: NewAlert = {
      key: f.key,
      type: f.rule,
      severity: f.severity,
      level: f.level,
      component: f.component,
      title: this.redact(f.title),
      message: this.redact(f.message),
      threshold: f.threshold,
      value: f.value,
      cooldownS: rule.cooldownS,
      metadata: f.link ? { link: f.link } : {},
    };
    // Two writers opening the same key at once: the loser's insert does nothing, and its retry repeats.
    for (let attempt = 0; attempt < 3; attempt++) {
      const done = await inTransaction(this.pool, async (c): Promise<Recorded | undefined> => {
        const open = await lockOpenAlert(c, alert.key);
        if (!open) {
          const row = await insertAlert(c, alert, now);
          return row && { row, opened: true };
        }
        const plan = planRepeat(open, f, rule.escalateAfter, now);
        return { row: await updateOpenAlert(c, open.alert_id, alert, plan, now), opened: false };
      });
      if (done) return done;
    }
    throw new AlertStoreError(`could not record alert ${JSON.stringify(f.key)}: kept conflicting with concurrent writers`);
  }

  resolve(filter: ResolveFilter, now = new Date()) {
    return resolveAlerts(this.pool, filter, now);
  }

  /** Explains a refused acknowledgement: unknown id, already resolved, or already acknowledged. */
  async acknowledge(id: number, by: string, now = new Date()): Promise<{ ok: true; row: AlertRow } | { ok: false; reason: string }> {
    const row = await acknowledgeAlert(this.pool, id, by, now);
    if (row) return { ok: true, row };
    const existing = await getAlert(this.pool, id);
    if (!existing) return { ok: false, reason: `no alert #${id}` };
    if (existing.resolved_at) return { ok: false, reason: `alert #${id} is already resolved` };
    return { ok: false, reason: `alert #${id} was already acknowledged by ${existing.acknowledged_by ?? "?"}` };
  }
}
