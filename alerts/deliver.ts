// Delivery from the outbox (observability.alerts): claim one due alert at a time, send its message to
// every chat that has not had it, record the outcome. A transient failure (Telegram down, 429, 5xx) puts
// the alert back with a backoff that honours retry_after and ends the pass: nothing is lost, nothing is
// sent twice, and no caller waits on Telegram for longer than one request. Research briefs (research_briefs)
// leave through the same outbox once the due alerts are out: claimed the same way, sent in ordered parts
// of at most 4096 characters, each accepted part recorded so a retry resumes after it.
import { SpanStatusCode, trace } from "@opentelemetry/api";
import type { Pool } from "../db/pool.ts";
import { claimDueAlert, markDeliveryFailed, markSent, type AlertRow } from "../db/repos/alerts.ts";
import { claimDueBrief, recordPartsDelivered, retryBriefDelivery, setBriefDelivery, type BriefRow } from "../db/repos/research-briefs.ts";
import type { Logger } from "../ops/logger.ts";
import { messageKind, retryDelayMs } from "./lifecycle.ts";
import { renderAlert } from "./message.ts";
import { briefMessage, logNotifier, type Notifier } from "./notify.ts";
import type { Redactor } from "./redact.ts";
import { splitMessage } from "./split.ts";
import { DeliveryError, type AlertSink } from "./telegram.ts";

export interface DelivererOptions {
  pool: Pool;
  sink: AlertSink;
  /** Where research briefs go: the sink's chats (Telegram), or the log; default the log. */
  notifier?: Notifier;
  dashboardBase: string;
  log: Logger;
  redact: Redactor;
  maxBackoffMs: number;
  /** How long a claimed alert stays invisible to other deliverers (covers a crash mid-send). */
  leaseS?: number;
  clock?: () => Date;
}

export interface DeliveryPass {
  sent: number;
  failed: number;
  /** Set when a transient failure ended the pass early. */
  stoppedBy?: string;
}

const tracer = trace.getTracer("ta-fleet.alerts");

export class Deliverer {
  private readonly clock: () => Date;
  private readonly notifier: Notifier;

  constructor(private readonly opts: DelivererOptions) {
    this.clock = opts.clock ?? (() => new Date());
    this.notifier = opts.notifier ?? logNotifier(opts.log);
  }

  /** Delivers due alerts and research briefs until none is due, `max` were handled, or Telegram fails transiently. */
  async deliverDue(max = 100): Promise<DeliveryPass> {
    const pass: DeliveryPass = { sent: 0, failed: 0 };
    for (let i = 0; i < max; i++) {
      const outcome = await this.deliverNext();
      if (outcome === "none due") break;
      if (!outcome) {
        pass.sent++;
        continue;
      }
      pass.failed++;
      if (!outcome.opts.permanent) {
        pass.stoppedBy = outcome.message;
        break;
      }
    }
    return pass;
  }

  /** The most overdue alert, else the most overdue brief: an alert that falls due meanwhile goes first. */
  private async deliverNext(): Promise<DeliveryError | undefined | "none due"> {
    const leaseS = this.opts.leaseS ?? 60;
    const row = await claimDueAlert(this.opts.pool, this.clock(), leaseS);
    if (row) return this.deliverOne(row);
    const brief = await claimDueBrief(this.opts.pool, this.clock(), leaseS);
    return brief ? this.deliverBrief(brief) : "none due";
  }

  /** The parts of a brief each chat has not accepted, in order; each accepted part is recorded at once. */
  private async deliverBrief(brief: BriefRow): Promise<DeliveryError | undefined> {
    const { pool, log } = this.opts;
    const notifier = this.notifier;
    const parts = splitMessage(briefMessage(brief, brief.output ?? "", this.opts.dashboardBase));
    const span = tracer.startSpan("brief.deliver", {
      attributes: { "brief.run_id": brief.runId, "brief.parts": parts.length, "alert.sink": notifier.name, "alert.attempt": brief.deliveryAttempts },
    });
    try {
      for (const chat of notifier.chatIds) {
        for (let i = brief.deliveredParts[chat] ?? 0; i < parts.length; i++) {
          const err = await notifier.send(chat, parts[i]!).then(
            () => undefined,
            (e: unknown) => (e instanceof DeliveryError ? e : new DeliveryError(this.opts.redact((e as Error)?.message ?? String(e)), { permanent: false })),
          );
          if (err) {
            await this.briefFailed(brief, err);
            span.setStatus({ code: SpanStatusCode.ERROR, message: err.message });
            return err;
          }
          // A database failure here propagates: the claim's lease brings the brief back, resuming after the
          // last part recorded.
          await recordPartsDelivered(pool, brief.runId, chat, i + 1);
        }
      }
      await setBriefDelivery(pool, brief.runId, notifier.name === "log" ? "disabled" : "delivered");
      log.info({ runId: brief.runId, parts: parts.length, chats: notifier.chatIds.length, via: notifier.name, attempt: brief.deliveryAttempts }, "research brief delivered");
      span.setStatus({ code: SpanStatusCode.OK });
      return undefined;
    } finally {
      span.end();
    }
  }

  private async briefFailed(brief: BriefRow, err: DeliveryError): Promise<void> {
    const fields = { runId: brief.runId, attempt: brief.deliveryAttempts, err: err.message };
    if (err.opts.permanent) {
      await setBriefDelivery(this.opts.pool, brief.runId, "failed", err.message);
      this.opts.log.error(fields, "research brief cannot be delivered to Telegram; kept in research_briefs as failed");
      return;
    }
    const waitMs = retryDelayMs(brief.deliveryAttempts, err.opts.retryAfterMs, this.opts.maxBackoffMs);
    await retryBriefDelivery(this.opts.pool, brief.runId, err.message, new Date(this.clock().getTime() + waitMs));
    this.opts.log.warn({ ...fields, retryInMs: waitMs }, "research brief delivery failed; will retry");
  }

  private async deliverOne(row: AlertRow): Promise<DeliveryError | undefined> {
    const { sink, log } = this.opts;
    const kind = messageKind(row);
    const text = renderAlert(row, this.opts.dashboardBase, this.clock());
    const delivered: string[] = [];
    const span = tracer.startSpan("alert.deliver", {
      attributes: { "alert.id": row.alert_id, "alert.key": row.alert_key, "alert.severity": row.severity, "alert.message_kind": kind, "alert.sink": sink.name, "alert.attempt": row.delivery_attempts },
    });
    try {
      try {
        for (const chat of sink.chatIds) {
          if (row.delivered_chats.includes(chat)) continue;
          await sink.send(chat, text, row);
          delivered.push(chat);
        }
      } catch (e) {
        const err = e instanceof DeliveryError ? e : new DeliveryError(this.opts.redact((e as Error)?.message ?? String(e)), { permanent: false });
        const waitMs = err.opts.permanent ? 0 : retryDelayMs(row.delivery_attempts, err.opts.retryAfterMs, this.opts.maxBackoffMs);
        const retryAt = new Date(this.clock().getTime() + waitMs);
        await markDeliveryFailed(this.opts.pool, row, { error: err.message, retryAt, deliveredChats: delivered, permanent: err.opts.permanent });
        const fields = { alertId: row.alert_id, alertKey: row.alert_key, attempt: row.delivery_attempts, err: err.message };
        if (err.opts.permanent) log.error(fields, "alert cannot be delivered to Telegram; kept in observability.alerts as failed");
        else log.warn({ ...fields, retryInMs: waitMs }, "alert delivery failed; will retry");
        span.setAttribute("alert.retry_in_ms", waitMs);
        span.setStatus({ code: SpanStatusCode.ERROR, message: err.message });
        return err;
      }
      // A database failure from here on propagates: the claim's lease brings the alert back.
      await markSent(this.opts.pool, row, sink.name === "log" ? "disabled" : "delivered", this.clock());
      log.info({ alertId: row.alert_id, alertKey: row.alert_key, kind, chats: delivered.length, attempt: row.delivery_attempts }, "alert delivered");
      span.setStatus({ code: SpanStatusCode.OK });
      return undefined;
    } finally {
      span.end();
    }
  }
}

/**
 * The bot process's delivery loop: a pass every `intervalMs` (sooner after wake()), so alerts go out
 * seconds after they are stored and retries happen when their backoff ends.
 */
export class DeliveryLoop {
  private stopped = false;
  private wakeUp?: () => void;
  private running?: Promise<void>;

  constructor(
    private readonly deliverer: Deliverer,
    log: Logger,
    private readonly intervalMs = 1_000,
    /** Where a failed pass goes (the process's dependency monitor: one line per outage); default: the log. */
    private readonly report: (err: unknown, what: string) => void = (err) => log.warn({ err: (err as Error).message }, "alert delivery pass failed (database?); retrying"),
  ) {}

  start(): this {
    this.running ??= this.loop();
    return this;
  }

  wake(): void {
    this.wakeUp?.();
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      try {
        await this.deliverer.deliverDue();
      } catch (err) {
        this.report(err, "alert delivery pass");
      }
      if (this.stopped) break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.intervalMs);
        timer.unref();
        this.wakeUp = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  /** Stops after the current pass (bounded by one Telegram request timeout). Idempotent. */
  async close(): Promise<void> {
    this.stopped = true;
    this.wake();
    await this.running;
  }
}
