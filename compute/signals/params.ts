/**
 * Zod parameter schemas for the signal types (strict: unknown keys are rejected, so typos fail).
 *
 * Signal type names follow the signal tables (cmc_signals_<type>): 'ema_crossover', 'rsi_mean_revert',
 * 'atr_breakout'; the short aliases 'ema_cross' and 'rsi_revert' are accepted too.
 *
 * parseSignalParams(type, params) returns the parsed params (defaults applied) or throws an Error whose
 * message names each failing field path and the bad value, one issue per line, e.g.
 *   "params.slow: must be greater than fast (got 5)".
 */
import { z } from "zod";

function int(lo: number, hi: number) {
  const msg = `must be an integer in [${lo}, ${hi}]`;
  return z.number({ error: msg }).int({ error: msg }).min(lo, { error: msg }).max(hi, { error: msg });
}

export const emaCrossParams = z
  .strictObject({
    fast: int(2, 500),
    slow: int(3, 100_000),
  })
  .superRefine((v, ctx) => {
    if (!(v.slow > v.fast)) {
      ctx.addIssue({ code: "custom", path: ["slow"], message: "must be greater than fast" });
    }
  });

const openPct = () => {
  const msg = "must be a number strictly between 0 and 100";
  return z.number({ error: msg }).gt(0, { error: msg }).lt(100, { error: msg });
};

export const rsiRevertParams = z
  .strictObject({
    period: int(2, 10_000).default(14),
    lower: openPct().default(30),
    upper: openPct().default(70),
  })
  .superRefine((v, ctx) => {
    if (!(v.lower < v.upper)) {
      ctx.addIssue({ code: "custom", path: ["upper"], message: "must be greater than lower" });
    }
  });

export const breakoutTypes = ["channel_break", "atr_expansion", "both"] as const;

export const atrBreakoutParams = z.strictObject({
  channel: int(1, 100_000).default(20),
  atr: int(1, 100_000).default(14),
  breakout_type: z
    .enum(breakoutTypes, { error: `must be one of ${breakoutTypes.join(", ")}` })
    .default("channel_break"),
  atr_mult: z
    .number({ error: "must be a finite number > 0" })
    .gt(0, { error: "must be a finite number > 0" })
    .default(1.5),
});

export type EmaCrossParams = z.infer<typeof emaCrossParams>;
export type RsiRevertParams = z.infer<typeof rsiRevertParams>;
export type AtrBreakoutParams = z.infer<typeof atrBreakoutParams>;

export type SignalType = "ema_crossover" | "rsi_mean_revert" | "atr_breakout";
export type SignalTypeInput = SignalType | "ema_cross" | "rsi_revert";

const ALIASES: Record<string, SignalType> = {
  ema_crossover: "ema_crossover",
  ema_cross: "ema_crossover",
  rsi_mean_revert: "rsi_mean_revert",
  rsi_revert: "rsi_mean_revert",
  atr_breakout: "atr_breakout",
};

export function canonicalSignalType(type: string): SignalType {
  const t = Object.prototype.hasOwnProperty.call(ALIASES, type) ? ALIASES[type] : undefined;
  if (t === undefined) {
    throw new Error(
      `type: unknown signal type (got ${JSON.stringify(type)}); expected one of ${Object.keys(ALIASES).join(", ")}`,
    );
  }
  return t;
}

function show(v: unknown): string {
  if (v === undefined) return "undefined";
  if (typeof v === "number" || typeof v === "bigint") return String(v);
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

function valueAt(root: unknown, path: ReadonlyArray<PropertyKey>): unknown {
  let cur: unknown = root;
  for (const k of path) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[k];
  }
  return cur;
}

/** Turns a ZodError into "params.<path>: <message> (got <value>)" lines. */
export function formatParamIssues(error: z.ZodError, input: unknown, root = "params"): string {
  const lines: string[] = [];
  for (const issue of error.issues) {
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) {
        const path = [...issue.path, key];
        lines.push(`${[root, ...path.map(String)].join(".")}: unrecognized key (got ${show(valueAt(input, path))})`);
      }
      continue;
    }
    const where = [root, ...issue.path.map(String)].join(".");
    lines.push(`${where}: ${issue.message} (got ${show(valueAt(input, issue.path))})`);
  }
  return lines.join("\n");
}

export function parseSignalParams(type: "ema_crossover" | "ema_cross", params: unknown): EmaCrossParams;
export function parseSignalParams(type: "rsi_mean_revert" | "rsi_revert", params: unknown): RsiRevertParams;
export function parseSignalParams(type: "atr_breakout", params: unknown): AtrBreakoutParams;
export function parseSignalParams(type: string, params: unknown): EmaCrossParams | RsiRevertParams | AtrBreakoutParams;
export function parseSignalParams(
  type: string,
  params: unknown,
): EmaCrossParams | RsiRevertParams | AtrBreakoutParams {
  const canonical = canonicalSignalType(type);
  const schema =
    canonical === "ema_crossover" ? emaCrossParams : canonical === "rsi_mean_revert" ? rsiRevertParams : atrBreakoutParams;
  const res = schema.safeParse(params);
  if (!res.success) throw new Error(formatParamIssues(res.error, params));
  return res.data;
}
