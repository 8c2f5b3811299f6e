// Long-polls the Bot API for messages and answers commands in the chat they came from. Transient errors
// are retried by the poll loop (honouring retry_after); a fatal one (bad token, a second poller) is logged
// and polling restarts after a pause from the last handled update. Each update is claimed durably before
// it is acted on, so one redelivered after a crash (or a restart) is skipped: no command runs twice.
import { longPoll, type Api } from "node-telegram-bot-api";
import type { Logger } from "../../ops/logger.ts";
import type { Redactor } from "../../alerts/redact.ts";
import type { Incoming } from "./commands.ts";
import type { HandledUpdates } from "./handled-updates.ts";

export interface PollerOptions {
  /** Long-poll seconds per getUpdates. */
  timeoutS?: number;
  restartDelayMs?: number;
}

export class ChatOpsPoller {
  private readonly ac = new AbortController();
  private running?: Promise<void>;
  private offset?: number;
  /** This bot's username (getMe): commands addressed to another bot are not answered. */
  private username?: string;

  constructor(
    private readonly api: Api,
    private readonly handle: (msg: Incoming) => Promise<string | undefined>,
    private readonly log: Logger,
    private readonly redact: Redactor,
    private readonly handled: HandledUpdates,
    private readonly opts: PollerOptions = {},
  ) {}

  start(): this {
    this.running ??= this.loop();
    return this;
  }

  private async loop(): Promise<void> {
    const signal = this.ac.signal;
    while (!signal.aborted) {
      try {
        this.username ??= (await this.api.getMe(signal)).username ?? "";
        this.offset ??= await this.handled.offset();
        const updates = longPoll(
          this.api,
          {
            timeout: this.opts.timeoutS ?? 30,
            allowedUpdates: ["message"],
            ...(this.offset !== undefined ? { offset: this.offset } : {}),
            onError: (err) => this.log.warn({ err: this.redact((err as Error).message) }, "getUpdates failed; retrying"),
          },
          signal,
        );
        for await (const update of updates) {
          if (await this.handled.claim(update.update_id)) {
            if ("message" in update) await this.answer(update.message);
          } else {
            this.log.info({ updateId: update.update_id }, "chat-ops update already handled (redelivered); skipped");
          }
          this.offset = update.update_id + 1;
          await this.handled.saveOffset(this.offset);
        }
      } catch (err) {
        if (signal.aborted) return;
        this.log.error({ err: this.redact((err as Error).message) }, "chat-ops polling stopped; restarting");
        await new Promise<void>((r) => {
          const t = setTimeout(r, this.opts.restartDelayMs ?? 30_000);
          t.unref();
          signal.addEventListener("abort", () => (clearTimeout(t), r()), { once: true });
        });
      }
    }
  }

  private async answer(m: { message_id: number; text?: string; chat: { id: number }; from?: { id: number; username?: string; first_name: string } } | undefined) {
    if (!m?.text) return;
    let reply: string | undefined;
    try {
      reply = await this.handle({
        chatId: String(m.chat.id),
        bot: this.username!,
        ...(m.from ? { fromId: String(m.from.id), fromName: m.from.username ?? m.from.first_name } : {}),
        text: m.text,
      });
    } catch (err) {
      this.log.error({ err: this.redact((err as Error).message), chatId: m.chat.id }, "chat-ops handler failed");
      reply = "⚠️ internal error; see the bot's log";
    }
    if (!reply) return;
    try {
      await this.api.sendMessage({
        chat_id: m.chat.id,
        text: reply,
        reply_parameters: { message_id: m.message_id, allow_sending_without_reply: true },
        link_preview_options: { is_disabled: true },
      });
    } catch (err) {
      this.log.warn({ err: this.redact((err as Error).message), chatId: m.chat.id }, "chat-ops reply failed");
    }
  }

  /** Stops polling (aborts the pending getUpdates); a command being answered finishes first. Idempotent. */
  async close(): Promise<void> {
    this.ac.abort();
    await this.running;
  }
}
