// A local fake of the Telegram Bot API on 127.0.0.1, speaking its wire format: POST /bot<token>/<method>
// with form-urlencoded (or JSON) parameters, answering { ok, result } or { ok: false, error_code,
// description, parameters }. sendMessage and getUpdates (offset + long-poll timeout) behave like the real
// API (an update not confirmed by a later offset is delivered again); getMe names the bot ta_fleet_bot;
// failures (429 with retry_after, 5xx, dropped connections, requests that never get an answer, a full
// outage) are scriptable; every request is recorded.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { poll } from "../helpers/wait.ts";

export interface RecordedRequest {
  method: string;
  token: string;
  params: Record<string, string>;
  at: number;
  /** What the fake answered (HTTP status; 0 = connection dropped). */
  status: number;
}

/** "hang": the request is never answered (until the fake closes), as when the process dies waiting. */
export type Scripted = { status: number; body?: unknown } | "drop" | "hang";

export const tooManyRequests = (retryAfterS: number): Scripted => ({
  status: 429,
  body: { ok: false, error_code: 429, description: `Too Many Requests: retry after ${retryAfterS}`, parameters: { retry_after: retryAfterS } },
});
export const serverError = (status = 502): Scripted => ({ status, body: { ok: false, error_code: status, description: "Bad Gateway" } });

interface Update {
  update_id: number;
  message: { message_id: number; date: number; chat: { id: number; type: string }; from: { id: number; is_bot: false; first_name: string; username?: string }; text: string };
}

export interface FakeTelegram {
  /** The apiRoot to configure (TELEGRAM_API_ROOT). */
  url: string;
  token: string;
  requests: RecordedRequest[];
  /** Answers the next calls of `method` with these, in order, before behaving normally again. */
  script(method: string, ...responses: Scripted[]): void;
  /** While down, every request's connection is dropped (Telegram unreachable). */
  setDown(down: boolean): void;
  /** A user writes `text` in chat `chatId`; returns the update id. */
  userSays(chatId: number, text: string, from?: { id: number; first_name?: string; username?: string }): number;
  /** Successfully answered sendMessage calls, optionally for one chat. */
  sent(chatId?: string | number): Array<Record<string, string>>;
  waitForSent(n: number, chatId?: string | number, timeoutMs?: number): Promise<Array<Record<string, string>>>;
  close(): Promise<void>;
}

export async function startFakeTelegram(token = "123456:TEST-fake-token-0123456789abcdef"): Promise<FakeTelegram> {
  const requests: RecordedRequest[] = [];
  const scripts = new Map<string, Scripted[]>();
  const updates: Update[] = [];
  const waiters = new Set<() => void>();
  let down = false;
  let closed = false;
  let nextUpdate = 1;
  let nextMessage = 1;

  const reply = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
  };

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString();
    const m = /^\/bot([^/]+)\/([A-Za-z]+)$/.exec(new URL(req.url ?? "/", "http://x").pathname);
    const params: Record<string, string> = (req.headers["content-type"] ?? "").includes("json")
      ? Object.fromEntries(Object.entries(raw ? (JSON.parse(raw) as Record<string, unknown>) : {}).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]))
      : Object.fromEntries(new URLSearchParams(raw));
    const rec: RecordedRequest = { method: m?.[2] ?? "?", token: m?.[1] ?? "", params, at: Date.now(), status: 0 };
    requests.push(rec);
    const scripted = scripts.get(rec.method)?.shift();
    if (down || scripted === "drop") {
      req.socket.destroy();
      return;
    }
    if (scripted === "hang") return;
    if (scripted) {
      rec.status = scripted.status;
      return reply(res, scripted.status, scripted.body ?? { ok: false, error_code: scripted.status, description: "scripted" });
    }
    const answer = (result: unknown) => {
      rec.status = 200;
      reply(res, 200, { ok: true, result });
    };
    if (!m || m[1] !== token) {
      rec.status = 401;
      return reply(res, 401, { ok: false, error_code: 401, description: "Unauthorized" });
    }
    switch (rec.method) {
      case "getMe":
        return answer({ id: Number(token.split(":")[0]), is_bot: true, first_name: "ta-fleet", username: "ta_fleet_bot" });
      case "deleteWebhook":
        return answer(true);
      case "sendMessage": {
        if (!params.chat_id || !params.text) {
          rec.status = 400;
          return reply(res, 400, { ok: false, error_code: 400, description: "Bad Request: message text is empty" });
        }
        return answer({ message_id: nextMessage++, date: Math.floor(Date.now() / 1000), chat: { id: Number(params.chat_id), type: "private" }, text: params.text });
      }
      case "getUpdates": {
        const offset = Number(params.offset ?? 0);
        // Confirmed updates are forgotten, as in the real API.
        while (updates.length && updates[0]!.update_id < offset) updates.shift();
        if (!updates.length && Number(params.timeout ?? 0) > 0 && !closed) {
          await new Promise<void>((resolve) => {
            const done = () => (clearTimeout(timer), waiters.delete(done), resolve());
            const timer = setTimeout(done, Math.min(Number(params.timeout), 50) * 1000);
            waiters.add(done);
            res.once("close", done);
          });
        }
        if (res.destroyed) return;
        return answer(updates.slice(0, Number(params.limit ?? 100)));
      }
      default:
        rec.status = 404;
        return reply(res, 404, { ok: false, error_code: 404, description: "Not Found" });
    }
  }

  const server = createServer((req, res) => {
    handle(req, res).catch(() => res.destroy());
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  const sent = (chatId?: string | number) =>
    requests.filter((r) => r.method === "sendMessage" && r.status === 200 && (chatId === undefined || r.params.chat_id === String(chatId))).map((r) => r.params);

  return {
    url: `http://127.0.0.1:${port}`,
    token,
    requests,
    script: (method, ...responses) => scripts.set(method, [...(scripts.get(method) ?? []), ...responses]),
    setDown: (d) => void (down = d),
    userSays(chatId, text, from) {
      const id = nextUpdate++;
      updates.push({
        update_id: id,
        message: {
          message_id: nextMessage++,
          date: Math.floor(Date.now() / 1000),
          chat: { id: chatId, type: "private" },
          from: { id: from?.id ?? chatId, is_bot: false, first_name: from?.first_name ?? "Op", ...(from?.username ? { username: from.username } : {}) },
          text,
        },
      });
      for (const w of [...waiters]) w();
      return id;
    },
    sent,
    waitForSent: (n, chatId, timeoutMs = 15_000) => poll(() => (sent(chatId).length >= n ? sent(chatId) : undefined), `${n} sendMessage call(s)${chatId !== undefined ? ` to ${chatId}` : ""}`, timeoutMs),
    async close() {
      if (closed) return;
      closed = true;
      for (const w of [...waiters]) w();
      await new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      });
    },
  };
}
