// Query and path parameters of the dashboard's JSON endpoints. Every endpoint declares a strict schema
// (an unknown parameter is an error too); a bad value answers 400 naming the parameter and the value.
import { z } from "zod";
import { runId, symbol } from "../../../queues/kind.ts";

export class ParamError extends Error {
  override name = "ParamError";
  constructor(
    readonly parameter: string,
    readonly value: unknown,
    reason: string,
  ) {
    super(`invalid parameter ${parameter}=${JSON.stringify(value) ?? "undefined"}: ${reason}`);
  }
}

/** The parsed parameters, or ParamError for the first bad one. */
export function parseParams<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const r = schema.safeParse(input);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const unknown = issue.code === "unrecognized_keys";
  const name = unknown ? issue.keys[0]! : String(issue.path[0] ?? "?");
  throw new ParamError(name, (input as Record<string, unknown> | undefined)?.[name], unknown ? "unknown parameter" : issue.message);
}

/** An integer written in decimal digits, within [min, max]. */
const int = (min: number, max: number) =>
  z
    .string()
    .regex(/^-?\d{1,12}$/, "must be an integer")
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));

const hex = (n: number) => z.string().regex(new RegExp(`^[0-9a-f]{${n}}$`), `must be ${n} lowercase hex digits`);

const sweepId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, "must be 1-64 letters, digits, _ -");

/** walkForwardIdOf (queues/flows/walk-forward.ts): <asset>-<strategy>-wf-<10 hex>. */
const walkForwardId = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,80}-wf-[0-9a-f]{10}$/, "must be a walk-forward id: <asset>-<strategy>-wf-<10 lowercase hex digits>");

const MAX_BUCKETS = 2_000;

export const Q = {
  none: z.strictObject({}),
  series: z
    .strictObject({
      /** Minutes back from now. */
      window: int(5, 60 * 24 * 31).default(60),
      /** Bucket width in seconds. */
      bucket: int(10, 86_400).default(60),
    })
    .refine((q) => (q.window * 60) / q.bucket <= MAX_BUCKETS, { path: ["bucket"], message: `window / bucket must give at most ${MAX_BUCKETS} buckets` }),
  failures: z.strictObject({ minutes: int(1, 60 * 24 * 7).default(60), limit: int(1, 200).default(50) }),
  runs: z.strictObject({ limit: int(1, 100).default(20) }),
  alerts: z.strictObject({ state: z.enum(["open", "resolved", "all"]).default("all"), limit: int(1, 500).default(100) }),
  llm: z.strictObject({ days: int(1, 90).default(14) }),
  backtests: z.strictObject({
    limit: int(1, 200).default(50),
    symbol: symbol.optional(),
    strategy: z.string().regex(/^[a-z_]{1,32}$/, "must be 1-32 lowercase letters or _").optional(),
  }),
  sweeps: z.strictObject({ limit: int(1, 100).default(20) }),
  walkForwards: z.strictObject({ limit: int(1, 200).default(50), symbol: symbol.optional() }),
  /** The walk-forwards page: one asset's only. */
  walkForwardsPage: z.strictObject({ symbol: symbol.optional() }),
  /** The backtests page: which run's equity curve and which sweep's heatmap to draw (default: newest). */
  backtestPage: z.strictObject({ run: int(1, Number.MAX_SAFE_INTEGER).optional(), sweep: sweepId.optional() }),
} as const;

export const P = {
  run: z.strictObject({ runId }),
  trace: z.strictObject({ traceId: hex(32) }),
  alert: z.strictObject({ id: int(1, Number.MAX_SAFE_INTEGER) }),
  backtest: z.strictObject({ runId: int(1, Number.MAX_SAFE_INTEGER) }),
  sweep: z.strictObject({ sweepId }),
  walkForward: z.strictObject({ walkForwardId }),
  /** A job of a fleet queue (whether the queue exists is the endpoint's 404 to give). */
  job: z.strictObject({
    queue: z.string().regex(/^[a-z][a-z0-9-]{0,31}$/, "must be a queue name: 1-32 lowercase letters, digits, -"),
    jobId: z.string().regex(/^[\x21-\x7e]{1,256}$/, "must be 1-256 printable ASCII characters"),
  }),
} as const;
