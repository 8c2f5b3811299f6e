// A job kind is declared once — queue name, payload schema, result type, default options, job-id scheme,
// span attributes — and producers, flows and workers all read that declaration, so nothing else names a
// queue by string or formats its job ids.
import type { JobsOptions } from "bullmq";
import { z } from "zod";

/** Span and metric attributes of one job (the runtime adds queue, job name, id and attempt). */
export type SpanAttributes = Record<string, string | number | boolean>;

export interface JobKind<Name extends string = string, Schema extends z.ZodType = z.ZodType, Result = unknown> {
  readonly name: Name;
  readonly schema: Schema;
  /** BullMQ job name for a payload (what bull-board lists). */
  readonly jobName: (payload: z.output<Schema>) => string;
  /** Deterministic id where the work is deterministic: re-adding the same work is a no-op. */
  readonly jobId: (payload: z.output<Schema>) => string | undefined;
  readonly jobOptions: Readonly<JobsOptions>;
  /**
   * Upper bound on one attempt: past it the attempt fails with JobTimeoutError (retried per jobOptions)
   * whether or not the processor listens, and its AbortSignal fires, which also stops thread-pool work.
   */
  readonly timeoutMs: number;
  /**
   * What identifies a job in traces (asset, stage, strategy, provider, run). Never the payload itself:
   * prompts and free text stay out of spans. Unset: the job name says enough.
   */
  readonly spanAttributes?: (payload: z.output<Schema>) => SpanAttributes;
  /**
   * Tracing defaults (README "Tracing"). `sample`: head-sampling ratio by job name, "*" for the kind's other
   * jobs, 1 when unset — high-rate jobs nobody reads one by one trace a share; TRACE_SAMPLING overrides.
   * `slowMs`: an attempt running longer has its span kept even when its trace was not sampled.
   */
  readonly tracing: { readonly sample?: Readonly<Record<string, number>>; readonly slowMs: number };
  /** Phantom: the processor's result type. */
  readonly result?: Result;
}

export type PayloadOf<K extends JobKind> = z.output<K["schema"]>;
export type ResultOf<K extends JobKind> = K extends JobKind<string, z.ZodType, infer R> ? R : never;

export function defineKind<Name extends string, Schema extends z.ZodType, Result>(
  kind: Omit<JobKind<Name, Schema, Result>, "result">,
): JobKind<Name, Schema, Result> {
  return Object.freeze(kind);
}

/** Retention and retry defaults shared by every kind; kinds override what differs. */
export const BASE_JOB_OPTIONS: Readonly<JobsOptions> = Object.freeze({
  attempts: 3,
  // jitter spreads retries of a burst of failures so they do not hammer a recovering dependency together
  backoff: { type: "exponential", delay: 1_000, jitter: 0.5 },
  removeOnComplete: { age: 7 * 24 * 3600, count: 5_000 },
  removeOnFail: { age: 30 * 24 * 3600, count: 10_000 },
});

export class PayloadError extends Error {
  override name = "PayloadError";
  constructor(
    readonly kind: string,
    readonly path: string,
    readonly value: unknown,
    reason: string,
  ) {
    super(`${kind} payload invalid: ${path || "(root)"}: ${reason} (got ${preview(value)})`);
  }
}

function preview(value: unknown): string {
  if (value === undefined) return "nothing";
  const s = JSON.stringify(value) ?? String(value);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

// Keys the fabric adds to job data next to the payload (trace context); never part of a payload.
export const ENVELOPE_KEYS = ["_otel"] as const;

/** Validates a payload against its kind; throws PayloadError naming the first bad field. */
export function parsePayload<K extends JobKind>(kind: K, data: unknown): PayloadOf<K> {
  let input = data;
  if (data && typeof data === "object" && !Array.isArray(data) && ENVELOPE_KEYS.some((k) => k in data)) {
    const copy: Record<string, unknown> = { ...(data as Record<string, unknown>) };
    for (const k of ENVELOPE_KEYS) delete copy[k];
    input = copy;
  }
  const result = kind.schema.safeParse(input);
  if (result.success) return result.data as PayloadOf<K>;
  const issue = result.error.issues[0]!;
  let value: unknown = input;
  for (const seg of issue.path) value = (value as Record<PropertyKey, unknown> | undefined)?.[seg as PropertyKey];
  const path = issue.path.map(String).join(".");
  if (issue.code === "unrecognized_keys") {
    const key = issue.keys[0]!;
    return failWith(kind.name, path ? `${path}.${key}` : key, (value as Record<string, unknown>)?.[key], "unknown field");
  }
  return failWith(kind.name, path, value, issue.message);
}

function failWith(kind: string, path: string, value: unknown, reason: string): never {
  throw new PayloadError(kind, path, value, reason);
}

// Shared field schemas.
// A symbol is a bare token: it lands in job ids, Redis keys, URLs, command lines and exported CSVs, so it
// may not start with punctuation (`=cmd` is a spreadsheet formula, `-x` an option) nor hold anything else.
export const SYMBOL_RULE = "must start with a letter or digit and be at most 24 letters, digits, . _ -";
export const symbol = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,23}$/, SYMBOL_RULE);
export const isoDate = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, "must be YYYY-MM-DD")
  .refine((s) => !Number.isNaN(Date.parse(`${s}T00:00:00Z`)) && new Date(`${s}T00:00:00Z`).toISOString().startsWith(s), "must be a real calendar date");
export const runId = z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, "must be 1-64 letters, digits, _ . -");

/** Job ids of a deliberate re-run of the same day end in `.r<n>`; first runs have no suffix. */
export const rerunSuffix = (rerun: number | undefined) => (rerun ? `.r${rerun}` : "");

/** The flow run a job belongs to, for its spans (jobs outside a run have no runId). */
export const runAttribute = (p: { runId?: string | undefined }): SpanAttributes => (p.runId ? { "run.id": p.runId } : {});
