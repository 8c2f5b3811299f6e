// Notifications that are not alerts (the research brief): the same Telegram chats as alert delivery — the
// deliverer (./deliver.ts) sends them through the Telegram sink, failures classified as retry-later or
// never-deliverable — or, without a bot token, the log. Long texts are split by ./split.ts; the deliverer
// sends the parts in order.
import type { Logger } from "../ops/logger.ts";
import { DASHBOARD_PATH } from "./links.ts";

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

/** What the chat receives of a run's research brief: a header with the run page's link, then the answer. */
export function briefMessage(p: { runId: string; asOf: string }, answer: string, dashboardBase?: string): string {
  const link = dashboardBase ? `\n🔗 ${dashboardBase}${DASHBOARD_PATH}/runs/${encodeURIComponent(p.runId)}` : "";
  return `📝 Research brief · run ${p.runId} (as of ${p.asOf})${link}\n\n${answer}`;
}
