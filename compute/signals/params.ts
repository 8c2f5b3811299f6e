/**
 * Parameter parsing shared by the strategy declarations: integer ranges and the error message format. A
 * failing configuration throws one line per issue naming the field path and the bad value, e.g.
 *   "params.slow: must be greater than fast (got 5)".
 */
import { z } from "zod";

export function int(lo: number, hi: number) {
  const msg = `must be an integer in [${lo}, ${hi}]`;
  return z.number({ error: msg }).int({ error: msg }).min(lo, { error: msg }).max(hi, { error: msg });
}

function show(v: unknown): string {
  if (v === undefined) return "undefined";
  if (typeof v === "number" || typeof v === "bigint") return String(v);
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    // A cyclic or otherwise unserialisable value still gets named in the message.
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
