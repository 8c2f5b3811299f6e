// The Telegram side of alerting: a Bot API client configured for an outbox (no client-side retries — the
// outbox retries durably), and a sink that maps Bot API failures to "retry later" or "never deliverable".
import { Api, NetworkError, TelegramApiError, TimeoutError } from "node-telegram-bot-api";
import type { Config } from "../ops/config.ts";
import type { Logger } from "../ops/logger.ts";
import type { AlertRow } from "../db/repos/alerts.ts";
import type { Redactor } from "./redact.ts";

export class DeliveryError extends Error {
  override name = "DeliveryError";
  constructor(
    message: string,
    /** retryAfterMs: the server's retry_after; permanent: retrying the same message cannot help. */
    readonly opts: { retryAfterMs?: number; permanent: boolean },
  ) {
    super(message);
  }
}

/** Where alert messages go: Telegram chats, or the log when Telegram is not configured. */
export interface AlertSink {
  readonly name: "telegram" | "log";
  readonly chatIds: readonly string[];
  send(chatId: string, text: string, row: AlertRow): Promise<void>;
}

export function telegramApi(cfg: Pick<Config, "TELEGRAM_BOT_TOKEN" | "TELEGRAM_API_ROOT">, timeoutMs = 10_000): Api | undefined {
  if (!cfg.TELEGRAM_BOT_TOKEN) return undefined;
  return new Api(cfg.TELEGRAM_BOT_TOKEN, { apiRoot: cfg.TELEGRAM_API_ROOT, maxRetries: 0, timeoutMs });
}

export class TelegramSink implements AlertSink {
  readonly name = "telegram";
  constructor(
    private readonly api: Api,
    readonly chatIds: readonly string[],
    private readonly redact: Redactor,
  ) {}

  async send(chatId: string, text: string): Promise<void> {
    try {
      await this.api.sendMessage({ chat_id: chatId, text, link_preview_options: { is_disabled: true } });
    } catch (err) {
      throw classifyTelegramError(err, this.redact);
    }
  }
}

/** 429 → retry after retry_after; 5xx, network, timeouts, 401/404 (token being fixed) → retry with backoff; 400/403 → permanent. */
export function classifyTelegramError(err: unknown, redact: Redactor): DeliveryError {
  if (err instanceof TelegramApiError) {
    const what = redact(`Telegram ${err.errorCode}: ${err.description}`);
    if (err.errorCode === 429) return new DeliveryError(what, { retryAfterMs: (err.retryAfter ?? 1) * 1000, permanent: false });
    return new DeliveryError(what, { permanent: err.errorCode === 400 || err.errorCode === 403 });
  }
  if (err instanceof NetworkError || err instanceof TimeoutError) {
    const cause = (err.cause as { cause?: { code?: string }; message?: string } | undefined) ?? {};
    const detail = cause.cause?.code ?? cause.message ?? "";
    return new DeliveryError(redact(`Telegram unreachable: ${err.message}${detail ? ` (${detail})` : ""}`), { permanent: false });
  }
  return new DeliveryError(redact(`Telegram delivery failed: ${(err as Error)?.message ?? String(err)}`), { permanent: false });
}

/** Without Telegram: each alert message becomes one log line (warn for warning, error for critical). */
export class LogSink implements AlertSink {
  readonly name = "log";
  readonly chatIds = ["log"] as const;
  constructor(private readonly log: Logger) {}

  async send(_chatId: string, text: string, row: AlertRow): Promise<void> {
    const level = row.resolved_at ? "info" : row.severity === "critical" ? "error" : row.severity === "warning" ? "warn" : "info";
    this.log[level]({ alertId: row.alert_id, alertKey: row.alert_key, severity: row.severity, resolved: Boolean(row.resolved_at) }, `alert: ${text}`);
  }
}
