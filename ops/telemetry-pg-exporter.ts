// Spans into observability.spans. The exporter never makes a job wait: export() only converts the batch
// into rows and queues them in a bounded buffer (full → the overflow is dropped and counted); one writer
// inserts batches with `unnest` in the background and retries with backoff while PostgreSQL is down.
// A batch written twice (a timeout after the server committed) is harmless: the key is (trace_id, span_id)
// and the insert is ON CONFLICT DO NOTHING. Like ops/telemetry.ts it imports nothing of ours but a leaf
// module (the bounded writer, which imports nothing at all).
import { SpanKind, SpanStatusCode, type HrTime } from "@opentelemetry/api";
import { ExportResultCode, type ExportResult } from "@opentelemetry/core";
import type { ReadableSpan, SpanExporter } from "@opentelemetry/sdk-trace-base";
import { BoundedWriter, isDataError, type Queryable, type WriterStats } from "./bounded-writer.ts";

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

type SpanRow = [string, string, string | null, string, string, string, number, number, number, string, string | null, string, string];

const KIND = { [SpanKind.INTERNAL]: "INTERNAL", [SpanKind.SERVER]: "SERVER", [SpanKind.CLIENT]: "CLIENT", [SpanKind.PRODUCER]: "PRODUCER", [SpanKind.CONSUMER]: "CONSUMER" } as const;
const STATUS = { [SpanStatusCode.UNSET]: "UNSET", [SpanStatusCode.OK]: "OK", [SpanStatusCode.ERROR]: "ERROR" } as const;
const epochSeconds = (t: HrTime) => t[0] + t[1] / 1e9;
const finite = (x: number) => (Number.isFinite(x) ? x : 0);

// Every column goes through unnest, joined by position with attributes and events, which travel as one JSON
// array each: pg would otherwise escape every quote of every JSON document into an array literal. Columns
// whose values cannot contain a special character (hex ids, numbers, fixed words) are sent as ready-made
// array literals, the free-text ones (name, service, status message) as ordinary array parameters.
const INSERT_SPANS = `
INSERT INTO observability.spans
  (trace_id, span_id, parent_span_id, name, service, kind, start_time, end_time, duration_ms, status_code, status_message, attributes, events)
SELECT u.t, u.s, u.p, u.n, u.sv, u.k, to_timestamp(u.st), to_timestamp(u.et), u.d, u.sc, u.sm, a.value, e.value
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::float8[], $8::float8[], $9::float8[],
            $10::text[], $11::text[]) WITH ORDINALITY AS u(t, s, p, n, sv, k, st, et, d, sc, sm, i)
JOIN jsonb_array_elements($12::jsonb) WITH ORDINALITY AS a(value, i) USING (i)
JOIN jsonb_array_elements($13::jsonb) WITH ORDINALITY AS e(value, i) USING (i)
ON CONFLICT (trace_id, span_id) DO NOTHING`;

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
  private readonly writer: BoundedWriter<SpanRow>;
  private readonly redact: Redactor;

  constructor(db: Queryable, opts: PgSpanExporterOptions = {}) {
    this.redact = new Redactor(opts.secrets);
    this.writer = new BoundedWriter<SpanRow>({
      maxPending: opts.maxPending ?? 20_000,
      batchSize: opts.batchSize ?? 500,
      timeoutMs: opts.timeoutMs ?? 10_000,
      ...(opts.onError ? { onError: opts.onError } : {}),
      isPermanent: isDataError,
      write: async (rows) => {
        const col = (c: number) => rows.map((r) => r[c]);
        const literal = (c: number) => `{${rows.map((r) => r[c] ?? "NULL").join(",")}}`;
        const json = (c: number) => `[${rows.map((r) => r[c]).join(",")}]`;
        await db.query(INSERT_SPANS, [literal(0), literal(1), literal(2), col(3), col(4), literal(5), literal(6), literal(7), literal(8), literal(9), col(10), json(11), json(12)]);
      },
    });
  }

  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    try {
      this.writer.push(spans.map((s) => this.row(s)));
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

  private row(s: ReadableSpan): SpanRow {
    const ctx = s.spanContext();
    const events = s.events.length
      ? JSON.stringify(s.events.map((e) => ({ name: e.name, time: epochSeconds(e.time), ...(e.attributes ? { attributes: this.redact.attributes(e.attributes) } : {}) })))
      : "[]";
    return [
      ctx.traceId,
      ctx.spanId,
      s.parentSpanContext?.spanId ?? null,
      s.name,
      String(s.resource.attributes["service.name"] ?? "unknown"),
      KIND[s.kind] ?? "INTERNAL",
      finite(epochSeconds(s.startTime)),
      finite(epochSeconds(s.endTime)),
      finite(s.duration[0] * 1e3 + s.duration[1] / 1e6),
      STATUS[s.status.code] ?? "UNSET",
      s.status.message ? this.redact.text(s.status.message) : null,
      this.redact.attributesJson(s.attributes),
      events,
    ];
  }
}
