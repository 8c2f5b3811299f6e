// Spans into observability.spans. The exporter never makes a job wait: export() only converts the batch
// into COPY lines and queues them in a bounded buffer (full → the overflow is dropped and counted); one
// writer streams batches with COPY in the background and retries with backoff while PostgreSQL is down.
// A batch written twice (a timeout after the server committed) is harmless: the key (trace_id, start_time,
// span_id) rejects the second COPY, and that batch goes in once more with ON CONFLICT DO NOTHING. Like
// ops/telemetry.ts it imports nothing of ours but a leaf module (the bounded writer, which imports nothing).
import { SpanKind, SpanStatusCode, type HrTime } from "@opentelemetry/api";
import { ExportResultCode, type ExportResult } from "@opentelemetry/core";
import type { ReadableSpan, SpanExporter } from "@opentelemetry/sdk-trace-base";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { from as copyFrom } from "pg-copy-streams";
import { BoundedWriter, isDataError, type Queryable, type StreamingClient, type WriterStats } from "./bounded-writer.ts";

// Attribute keys whose values are secrets whatever they look like. `tokens` (a count) is not `token`.
const SECRET_KEY = /pass(word|wd)?|secret|api[._-]?key|authorization|cookie|credential|private[._-]?key|(^|[._-])(token|dsn)$|(database|redis)[._-]?url/i;
const SECRET_VALUES: Array<[RegExp, string]> = [
  [/([a-z][a-z0-9+.-]*:\/\/[^:/@\s]*:)[^@\s]+@/gi, "$1[redacted]@"], // credentials inside URLs
  [/\b\d{5,}:[A-Za-z0-9_-]{30,}\b/g, "[redacted]"], // Telegram bot tokens
  [/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}/gi, "$1 [redacted]"],
  [/\bsk-[A-Za-z0-9_-]{16,}/g, "[redacted]"], // OpenAI / Anthropic keys
  [/\bAIza[0-9A-Za-z_-]{30,}/g, "[redacted]"], // Google API keys
];

// One cheap scan says whether any of the patterns above can match; almost no attribute value does.
const SUSPICIOUS = /:\/\/|\d{5}:|bearer|basic|sk-|AIza/i;

/** Removes secrets from span text: known secret values, credential-looking substrings, secret-named keys. */
export class Redactor {
  private readonly exact: string[];
  private readonly secretKeys = new Map<string, boolean>();
  constructor(secrets: Iterable<string | undefined> = []) {
    // Short values would redact ordinary words; config enforces ≥ 8 characters for passwords anyway.
    this.exact = [...secrets].filter((s): s is string => typeof s === "string" && s.length >= 6);
  }

  text(s: string): string {
    let out = s;
    for (const secret of this.exact) if (out.includes(secret)) out = out.split(secret).join("[redacted]");
    if (!SUSPICIOUS.test(out)) return out;
    for (const [re, replacement] of SECRET_VALUES) out = out.replace(re, replacement);
    return out;
  }

  /** The attributes as JSON, secrets removed (the common case, nothing to remove, copies nothing). */
  attributesJson(attrs: Readonly<Record<string, unknown>>): string {
    for (const key in attrs) {
      const v = attrs[key];
      if (this.isSecretKey(key) || (typeof v === "string" && this.text(v) !== v) || Array.isArray(v)) return JSON.stringify(this.attributes(attrs));
    }
    return JSON.stringify(attrs);
  }

  attributes(attrs: Readonly<Record<string, unknown>>): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(attrs)) {
      const v = attrs[key];
      out[key] = this.isSecretKey(key) ? "[redacted]" : typeof v === "string" ? this.text(v) : Array.isArray(v) ? v.map((x) => (typeof x === "string" ? this.text(x) : x)) : v;
    }
    return out;
  }

  private isSecretKey(key: string): boolean {
    let secret = this.secretKeys.get(key);
    if (secret === undefined) {
      secret = SECRET_KEY.test(key);
      // Keys are a small, fixed vocabulary; the bound only guards against a runaway one.
      if (this.secretKeys.size < 10_000) this.secretKeys.set(key, secret);
    }
    return secret;
  }
}

const KIND = { [SpanKind.INTERNAL]: "INTERNAL", [SpanKind.SERVER]: "SERVER", [SpanKind.CLIENT]: "CLIENT", [SpanKind.PRODUCER]: "PRODUCER", [SpanKind.CONSUMER]: "CONSUMER" } as const;
const STATUS = { [SpanStatusCode.UNSET]: "UNSET", [SpanStatusCode.OK]: "OK", [SpanStatusCode.ERROR]: "ERROR" } as const;
const epochSeconds = (t: HrTime) => t[0] + t[1] / 1e9;
const finite = (x: number) => (Number.isFinite(x) ? x : 0);

// Timestamps as text with microseconds, so a re-export yields exactly the same start_time (the key). The
// date-to-minute prefix is built once a minute: toISOString per span would double the cost of a row.
let minute = NaN;
let minutePrefix = "";
function timestamp(t: HrTime): string {
  const sec = Number.isFinite(t[0]) ? t[0] : 0;
  const m = Math.floor(sec / 60);
  if (m !== minute) {
    minutePrefix = new Date(m * 60_000).toISOString().slice(0, 17);
    minute = m;
  }
  const s = sec - m * 60;
  return `${minutePrefix}${s < 10 ? "0" : ""}${s}.${String(Math.floor(t[1] / 1e3)).padStart(6, "0")}Z`;
}

// COPY's text format: backslash, tab and line breaks escaped. A NUL byte cannot be stored in text at all
// and would fail the whole batch; it is dropped. Ids, kinds, times and numbers never need it; JSON from
// JSON.stringify holds no raw control character, only backslashes.
const COPY_SPECIAL = /[\\\t\n\r\0]/;
const COPY_ESCAPES: Record<string, string> = { "\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r", "\0": "" };
const text = (s: string) => (COPY_SPECIAL.test(s) ? s.replace(/[\\\t\n\r\0]/g, (c) => COPY_ESCAPES[c]!) : s);
const json = (s: string) => (s.includes("\\") ? s.replaceAll("\\", "\\\\") : s);

// COPY: about half the PostgreSQL CPU per row of the INSERT … SELECT FROM unnest it replaced, and of a
// COPY into a staging table plus INSERT ON CONFLICT, which costs as much as that INSERT (bench/spans.ts).
const COLUMNS = "trace_id, span_id, parent_span_id, name, service, kind, start_time, end_time, duration_ms, status_code, status_message, attributes, events";
const COPY_SPANS = `COPY observability.spans (${COLUMNS}) FROM STDIN`;
const UNIQUE_VIOLATION = "23505";

async function copyLines(client: StreamingClient, sql: string, lines: string[]): Promise<void> {
  await pipeline(Readable.from([lines.join("")]), client.query(copyFrom(sql)));
}

/** A batch that holds rows already stored: staged, then inserted without those. */
async function resend(client: StreamingClient, lines: string[]): Promise<void> {
  await client.query("BEGIN");
  try {
    await client.query("CREATE TEMP TABLE spans_resend (LIKE observability.spans) ON COMMIT DROP");
    await copyLines(client, `COPY spans_resend (${COLUMNS}) FROM STDIN`, lines);
    await client.query(`INSERT INTO observability.spans SELECT * FROM spans_resend ON CONFLICT (trace_id, start_time, span_id) DO NOTHING`);
    await client.query("COMMIT");
  } catch (err) {
    // When the ROLLBACK fails too, the connection is gone: its error (no SQLSTATE) discards the client.
    await client.query("ROLLBACK");
    throw err;
  }
}

export interface PgSpanExporterOptions {
  /** Spans held while PostgreSQL is unreachable; beyond this they are dropped and counted. */
  maxPending?: number;
  batchSize?: number;
  timeoutMs?: number;
  /** Secret values (from config) that must never be stored. */
  secrets?: Iterable<string | undefined>;
  onError?(err: Error): void;
}

export class PgSpanExporter implements SpanExporter {
  private readonly writer: BoundedWriter<string>;
  private readonly redact: Redactor;

  constructor(db: Queryable, opts: PgSpanExporterOptions = {}) {
    this.redact = new Redactor(opts.secrets);
    this.writer = new BoundedWriter<string>({
      maxPending: opts.maxPending ?? 20_000,
      batchSize: opts.batchSize ?? 500,
      timeoutMs: opts.timeoutMs ?? 10_000,
      ...(opts.onError ? { onError: opts.onError } : {}),
      isPermanent: isDataError,
      write: async (lines) => {
        const client = await db.connect();
        // A failure without a SQLSTATE (a dropped socket, a stream error mid-COPY) may leave the
        // connection in an unknown state: it is discarded, not reused.
        let broken: Error | undefined;
        try {
          await copyLines(client, COPY_SPANS, lines).catch((err: Error & { code?: string }) => {
            if (err.code !== UNIQUE_VIOLATION) throw err;
            return resend(client, lines);
          });
        } catch (err) {
          if (!(err as { code?: unknown }).code) broken = err as Error;
          throw err;
        } finally {
          client.release(broken);
        }
      },
    });
  }

  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    try {
      this.writer.push(spans.map((s) => this.line(s)));
    } catch (err) {
      done({ code: ExportResultCode.FAILED, error: err as Error });
      return;
    }
    // Accepted into our own buffer: the BatchSpanProcessor may hand over the next batch at once.
    done({ code: ExportResultCode.SUCCESS });
  }

  stats(): WriterStats {
    return this.writer.stats();
  }

  async forceFlush(): Promise<void> {
    await this.writer.flush(5_000);
  }

  shutdown(): Promise<void> {
    return this.writer.close(5_000);
  }

  /** One line of COPY text. */
  private line(s: ReadableSpan): string {
    const ctx = s.spanContext();
    const events = s.events.length
      ? json(JSON.stringify(s.events.map((e) => ({ name: e.name, time: epochSeconds(e.time), ...(e.attributes ? { attributes: this.redact.attributes(e.attributes) } : {}) }))))
      : "[]";
    const service = text(String(s.resource.attributes["service.name"] ?? "unknown"));
    const message = s.status.message ? text(this.redact.text(s.status.message)) : "\\N";
    const duration = finite(s.duration[0] * 1e3 + s.duration[1] / 1e6);
    // join() yields one flat string; a template literal would leave a rope that every batch flattens again.
    return [ctx.traceId, ctx.spanId, s.parentSpanContext?.spanId ?? "\\N", text(s.name), service, KIND[s.kind] ?? "INTERNAL", timestamp(s.startTime), timestamp(s.endTime), duration, STATUS[s.status.code] ?? "UNSET", message, json(this.redact.attributesJson(s.attributes)), `${events}\n`].join("\t");
  }
}
