// Notifications that are not alerts (the research brief): the same Telegram sink as alert delivery — Bot API
// client without client-side retries, failures classified as retry-later or never-deliverable — or, without
// a bot token, the log. Long texts are split by ./split.ts; the caller sends the parts in order.
import type { Config } from "../ops/config.ts";
import type { Logger } from "../ops/logger.ts";
import { configRedactor } from "./redact.ts";
import { telegramApi, TelegramSink } from "./telegram.ts";

export interface Notifier {
  readonly name: "telegram" | "log";
  readonly chatIds: readonly string[];
  /** Throws a DeliveryError (./telegram.ts) on failure. */
  send(chatId: string, text: string): Promise<void>;
}

/** Without Telegram: each part becomes one info log line. */
export function logNotifier(log: Logger): Notifier {
  return {
    name: "log",
    chatIds: ["log"],
    send: async (_chat, text) => log.info({ chars: text.length }, `notification: ${text}`),
  };
}

/** Telegram when TELEGRAM_BOT_TOKEN and TELEGRAM_CHAT_IDS are set, else the log. */
export function notifierFromConfig(cfg: Config, log: Logger): Notifier {
  const api = telegramApi(cfg);
  if (!api || !cfg.TELEGRAM_CHAT_IDS.length) return logNotifier(log);
  return new TelegramSink(api, cfg.TELEGRAM_CHAT_IDS, configRedactor(cfg));
}
