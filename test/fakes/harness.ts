// A local HTTP server on 127.0.0.1 that plays an LLM provider: it checks each request's shape (the
// provider module's rules), records it, and answers from a script of replies (success, HTTP errors with
// retry-after, malformed bodies, slow or never-ending responses, SSE streams). With `limit` it enforces a
// fixed allowed rate like a real provider and counts the requests over it.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";

export interface Recorded {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: Record<string, string>;
  body: Record<string, unknown>;
  at: number;
}

export type Reply =
  | { type: "ok"; text?: string; usage?: { input: number; output: number } | null; delayMs?: number; chunkDelayMs?: number }
  | { type: "error"; status: number; retryAfter?: string; message?: string; code?: string }
  | { type: "malformed" }
  /** Streams these chunks, then keeps the response open until the client goes away. */
  | { type: "stream-hang"; chunks: string[] }
  /** Never answers (the client's timeout or a kill ends it). */
  | { type: "hang" };

export interface ProviderShape {
  name: string;
  /** Parses the path; undefined when it is not this provider's endpoint. */
  route(method: string, path: string): { model?: string; stream?: boolean } | undefined;
  /** What is wrong with the request (headers, body schema), or undefined. */
  check(req: Recorded, key: string): { status: number; message: string } | undefined;
  wantsStream(req: Recorded): boolean;
  okBody(model: string, text: string, usage: { input: number; output: number } | null): unknown;
  /** SSE event strings (without the trailing blank line) for a streamed answer. */
  streamEvents(model: string, chunks: string[], usage: { input: number; output: number } | null, done: boolean): string[];
  errorBody(status: number, message: string, code?: string, retryAfterS?: number): unknown;
}

export interface FakeProvider {
  url: string;
  requests: Recorded[];
  violations: string[];
  /** Requests over `limit` (answered 429). */
  overruns: number;
  /** Accepted requests per limit window, by window index. */
  acceptedPerWindow: Map<number, number>;
  maxInFlight: number;
  script(...replies: Reply[]): void;
  /** Starts enforcing `limit` from now on, with fresh counters (after a warm-up, say). */
  setLimit(limit: FakeOptions["limit"]): void;
  /** Resolves when `n` requests have arrived. */
  received(n: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export interface FakeOptions {
  key: string;
  limit?: { windowMs: number; requests: number };
  /** Default answer latency. */
  latencyMs?: number;
  /** The reply when the script is empty (default: "answer N from <provider>"). */
  answer?: (req: Recorded) => Reply;
}

const words = (s: string) => s.match(/\S+\s*/g) ?? [""];

export async function startFake(shape: ProviderShape, o: FakeOptions): Promise<FakeProvider> {
  const requests: Recorded[] = [];
  const violations: string[] = [];
  const queue: Reply[] = [];
  const waiters: Array<{ n: number; resolve: () => void }> = [];
  const sockets = new Set<Socket>();
  let inFlight = 0;
  let limit = o.limit;
  const fake = {
    url: "",
    requests,
    violations,
    overruns: 0,
    acceptedPerWindow: new Map<number, number>(),
    maxInFlight: 0,
  } as FakeProvider;

  const handle = async (req: IncomingMessage, res: ServerResponse, at: number) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const u = new URL(req.url ?? "/", "http://x");
    let body: Record<string, unknown> = {};
    try {
      body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString()) : {};
    } catch {
      violations.push("body is not JSON");
    }
    const rec: Recorded = { method: req.method ?? "", path: u.pathname, query: Object.fromEntries(u.searchParams), headers: req.headers as Record<string, string>, body, at };
    requests.push(rec);
    for (const w of waiters.filter((w) => requests.length >= w.n)) w.resolve();
    const send = (status: number, payload: unknown, headers: Record<string, string> = {}) => {
      if (res.destroyed) return;
      res.writeHead(status, { "content-type": "application/json", ...headers });
      res.end(JSON.stringify(payload));
    };
    const r = shape.route(rec.method, rec.path);
    if (!r) {
      violations.push(`unexpected ${rec.method} ${rec.path}`);
      return send(404, shape.errorBody(404, `no route ${rec.path}`));
    }
    const bad = shape.check(rec, o.key);
    if (bad) {
      violations.push(bad.message);
      return send(bad.status, shape.errorBody(bad.status, bad.message));
    }
    if (limit) {
      const w = Math.floor(rec.at / limit.windowMs);
      const n = fake.acceptedPerWindow.get(w) ?? 0;
      if (n >= limit.requests) {
        fake.overruns++;
        const s = Math.ceil(((w + 1) * limit.windowMs - rec.at) / 1000);
        return send(429, shape.errorBody(429, "rate limit exceeded", "rate_limit_exceeded", s), { "retry-after": String(s) });
      }
      fake.acceptedPerWindow.set(w, n + 1);
    }
    const reply = queue.shift() ?? o.answer?.(rec) ?? { type: "ok" };
    const model = r.model ?? String(rec.body.model ?? "model");
    if (reply.type === "hang") return;
    if (reply.type === "error") {
      return send(reply.status, shape.errorBody(reply.status, reply.message ?? `fake ${reply.status}`, reply.code, Number(reply.retryAfter) || undefined), reply.retryAfter ? { "retry-after": reply.retryAfter } : {});
    }
    if (reply.type === "malformed") {
      res.writeHead(200, { "content-type": "application/json" });
      return res.end('{"id": "broken", "choices": [');
    }
    const stream = shape.wantsStream(rec);
    if (reply.type === "stream-hang") {
      res.writeHead(200, { "content-type": "text/event-stream" });
      for (const e of shape.streamEvents(model, reply.chunks, null, false)) res.write(`${e}\n\n`);
      return;
    }
    const text = reply.text ?? `answer ${requests.length} from ${shape.name}`;
    const usage = reply.usage === undefined ? { input: 11, output: 7 } : reply.usage;
    await pause(reply.delayMs ?? o.latencyMs ?? 0);
    if (!stream) return send(200, shape.okBody(model, text, usage));
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
    for (const e of shape.streamEvents(model, words(text), usage, true)) {
      if (res.destroyed) return;
      res.write(`${e}\n\n`);
      await pause(reply.chunkDelayMs ?? 0);
    }
    res.end();
  };

  const server = createServer((req, res) => {
    inFlight++;
    fake.maxInFlight = Math.max(fake.maxInFlight, inFlight);
    res.on("close", () => inFlight--);
    handle(req, res, Date.now()).catch((err) => {
      violations.push(`fake crashed: ${(err as Error).message}`);
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  fake.script = (...replies) => void queue.push(...replies);
  fake.setLimit = (l) => {
    limit = l;
    fake.overruns = 0;
    fake.acceptedPerWindow.clear();
    fake.maxInFlight = inFlight;
  };
  fake.received = (n, timeoutMs = 20_000) =>
    requests.length >= n
      ? Promise.resolve()
      : new Promise<void>((resolve, reject) => {
          const t = setTimeout(() => reject(new Error(`fake ${shape.name}: ${requests.length} of ${n} requests after ${timeoutMs} ms`)), timeoutMs);
          waiters.push({ n, resolve: () => (clearTimeout(t), resolve()) });
        });
  let closing: Promise<void> | undefined;
  fake.close = () =>
    (closing ??= new Promise<void>((resolve) => {
      server.close(() => resolve());
      for (const s of sockets) s.destroy();
    }));
  return fake;
}

function pause(ms: number): Promise<void> {
  return ms > 0 ? new Promise((r) => setTimeout(r, ms)) : Promise.resolve();
}

/** The value of `Authorization: Bearer <key>`, if that is how the request authenticates. */
export const bearer = (h: Record<string, string>) => /^Bearer (.+)$/.exec(h.authorization ?? "")?.[1];

/** Checks that `body` has only `allowed` keys; returns the first unknown one. */
export function unknownKey(body: Record<string, unknown>, allowed: readonly string[]): string | undefined {
  return Object.keys(body).find((k) => !allowed.includes(k));
}
