// The chat-ops commands, in one table: who may run each, its arguments (validated before anything runs)
// and what it does. Only allow-listed chats get answers; commands that change the fleet or an alert need
// an admin chat (or an admin user in an allowed chat). Every refusal is logged.
import { KIND_NAMES, kindByName, type KindName } from "../../queues/registry.ts";
import type { Logger } from "../../ops/logger.ts";
import type { Redactor } from "../../alerts/redact.ts";
import type { ChatOps } from "./chat-ops.ts";

export interface Incoming {
  chatId: string;
  /** The username of the bot that received the message: `/cmd@someone_else` is not for it. */
  bot: string;
  fromId?: string;
  fromName?: string;
  text: string;
}

export interface Access {
  /** Chats that may use read commands (TELEGRAM_CHAT_IDS; admins are implied). */
  chats: ReadonlySet<string>;
  /** Chats or users that may also use mutating commands (TELEGRAM_ADMIN_CHAT_IDS). */
  admins: ReadonlySet<string>;
}

export class ArgError extends Error {
  override name = "ArgError";
}

type Arg = "queue" | "jobId?" | "alertId";
type Parsed = { queue?: KindName; jobId?: string; alertId?: number };

interface Command {
  name: string;
  admin: boolean;
  args: readonly Arg[];
  help: string;
  run(ops: ChatOps, a: Parsed, by: string): Promise<string>;
}

export const COMMANDS: readonly Command[] = [
  { name: "status", admin: false, args: [], help: "queue depths, failures in the last hour, workers alive, budgets, open alerts", run: (ops) => ops.status() },
  { name: "failed", admin: false, args: ["queue"], help: "the latest failed jobs of a queue", run: (ops, a) => ops.failed(a.queue!) },
  { name: "retry", admin: true, args: ["queue", "jobId?"], help: "retry one failed job, or all failed jobs of the queue", run: (ops, a) => ops.retry(a.queue!, a.jobId) },
  { name: "pause", admin: true, args: ["queue"], help: "pause a queue (active jobs finish)", run: (ops, a) => ops.pause(a.queue!) },
  { name: "resume", admin: true, args: ["queue"], help: "resume a paused queue", run: (ops, a) => ops.resume(a.queue!) },
  { name: "ack", admin: true, args: ["alertId"], help: "acknowledge an alert: no more reminders", run: (ops, a, by) => ops.ack(a.alertId!, by) },
  { name: "help", admin: false, args: [], help: "this list", run: async () => helpText() },
];

const COMMAND_RE = /^\/([A-Za-z_]+)(?:@(\S+))?(?:\s+([\s\S]*))?$/;
const JOB_ID = /^[A-Za-z0-9_.:^=-]{1,200}$/;

function usage(c: Command): string {
  return `/${c.name}${c.args.map((a) => (a.endsWith("?") ? ` [${a.slice(0, -1)}]` : ` <${a}>`)).join("")}`;
}

function helpText(): string {
  return ["ta-fleet chat-ops:", ...COMMANDS.map((c) => `${usage(c)} — ${c.help}${c.admin ? " (admin)" : ""}`), `queues: ${KIND_NAMES.join(", ")}`].join("\n");
}

function parseArgs(c: Command, words: string[]): Parsed {
  const required = c.args.filter((a) => !a.endsWith("?")).length;
  if (words.length < required || words.length > c.args.length) throw new ArgError(`usage: ${usage(c)}`);
  const out: Parsed = {};
  c.args.forEach((spec, i) => {
    const w = words[i];
    if (w === undefined) return;
    if (spec === "queue") {
      try {
        out.queue = kindByName(w).name as KindName;
      } catch {
        throw new ArgError(`unknown queue ${JSON.stringify(w)}; known queues: ${KIND_NAMES.join(", ")}`);
      }
    } else if (spec === "jobId?") {
      if (!JOB_ID.test(w)) throw new ArgError(`invalid job id ${JSON.stringify(w.slice(0, 60))}: letters, digits and _ . : ^ = - only`);
      out.jobId = w;
    } else {
      const n = Number(w.replace(/^#/, ""));
      if (!Number.isSafeInteger(n) || n <= 0) throw new ArgError(`invalid alert id ${JSON.stringify(w.slice(0, 60))}: a positive number, as in "alert #17"`);
      out.alertId = n;
    }
  });
  return out;
}

/** The reply to a message, or undefined for text that is not a command (for this bot). */
export async function handleCommand(msg: Incoming, access: Access, ops: ChatOps, log: Logger, redact: Redactor): Promise<string | undefined> {
  const m = COMMAND_RE.exec(msg.text.trim());
  // In a group with several bots, `/pause@other_bot …` is the other bot's to answer (or refuse).
  if (!m || (m[2] !== undefined && m[2].toLowerCase() !== msg.bot.toLowerCase())) return undefined;
  const name = m[1]!.toLowerCase();
  const who = { chatId: msg.chatId, fromId: msg.fromId, command: name };
  const chatAllowed = access.chats.has(msg.chatId) || access.admins.has(msg.chatId);
  if (!chatAllowed) {
    log.warn({ ...who, reason: "chat not on the allow-list" }, "chat-ops command refused");
    return "⛔ This chat is not allowed to use the ta-fleet bot.";
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) return `unknown command /${name}; /help lists the commands`;
  const admin = access.admins.has(msg.chatId) || (msg.fromId !== undefined && access.admins.has(msg.fromId));
  if (command.admin && !admin) {
    log.warn({ ...who, reason: "needs an admin chat or user" }, "chat-ops command refused");
    return `⛔ /${name} changes the fleet and needs an admin chat (TELEGRAM_ADMIN_CHAT_IDS).`;
  }
  let args: Parsed;
  try {
    args = parseArgs(command, (m[3] ?? "").split(/\s+/).filter(Boolean));
  } catch (err) {
    if (err instanceof ArgError) return `⚠️ ${err.message}`;
    throw err;
  }
  const by = msg.fromName ? `${msg.fromName} (${msg.fromId ?? msg.chatId})` : (msg.fromId ?? msg.chatId);
  try {
    const reply = await command.run(ops, args, by);
    log.info({ ...who, admin: command.admin }, "chat-ops command");
    return reply;
  } catch (err) {
    const reason = redact((err as Error).message);
    log.error({ ...who, err: reason }, "chat-ops command failed");
    return `⚠️ /${name} failed: ${reason}`;
  }
}
