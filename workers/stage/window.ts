// Which rows a refresh sends to PostgreSQL. When the inputs up to the watermark are unchanged (their
// fingerprint matches the stored one), the stored rows are what the same computation over those bars gives,
// so only rows that differ from it — the new bars, and earlier rows of whole-history definitions such as the
// IQR outlier flags — are sent. Otherwise (first run, revised bars, state from before migration 042) the
// window from `lookback` bars before the watermark is sent, and the upsert skips unchanged rows.
import type { ColumnData } from "../../db/repos/columns.ts";
import type { StageState } from "../../db/repos/feature-state.ts";

type Col = ArrayLike<number>;

/** Bars up to and including the watermark. */
export function barsThrough(dates: readonly string[], watermark: string): number {
  let lo = 0;
  let hi = dates.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (dates[mid]! <= watermark) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Index of the first bar to write. */
export function windowStart(dates: readonly string[], watermark: string | undefined, lookback: number, full: boolean): number {
  if (full || !watermark) return 0;
  return Math.max(0, barsThrough(dates, watermark) - lookback);
}

/** `prevN`: the stored rows are the computation over the first prevN bars; `from`: send rows [from, end). */
export type WritePlan = { prevN: number } | { from: number };

export function planWrite(dates: readonly string[], state: StageState | undefined, lookback: number, full: boolean, hashOf: (bars: number) => string): WritePlan {
  if (full || !state) return { from: 0 };
  const prevN = barsThrough(dates, state.watermark);
  if (state.inputHash !== null && prevN > 0 && hashOf(prevN) === state.inputHash) return { prevN };
  return { from: windowStart(dates, state.watermark, lookback, false) };
}

const same = (a: number, b: number) => a === b || (a !== a && b !== b);

/** Rows to send of one column set: per the plan, given the same computation over the first prevN bars. */
export function rowsToWrite(plan: WritePlan, n: number, cols: Record<string, Col>, prev?: Record<string, Col>): Int32Array {
  if ("from" in plan) return Int32Array.from({ length: n - plan.from }, (_, i) => plan.from + i);
  if (!prev) throw new Error(`rowsToWrite: a plan over ${plan.prevN} stored bars needs their computation`);
  const changed = new Uint8Array(plan.prevN);
  for (const [k, a] of Object.entries(cols)) {
    const b = prev[k];
    if (!b) throw new Error(`rowsToWrite: column ${k} is missing from the computation over the stored bars`);
    for (let i = 0; i < plan.prevN; i++) if (!changed[i] && !same(a[i]!, b[i]!)) changed[i] = 1;
  }
  const out: number[] = [];
  for (let i = 0; i < plan.prevN; i++) if (changed[i]) out.push(i);
  for (let i = plan.prevN; i < n; i++) out.push(i);
  return Int32Array.from(out);
}

/** Column data for the given rows of one asset. */
export function windowColumns(assetId: number, dates: readonly string[], cols: Record<string, Col>, rows: Int32Array): { data: ColumnData; rows: number } {
  const data: ColumnData = { asset_id: new Array<number>(rows.length).fill(assetId), ts: Array.from(rows, (i) => dates[i]!) };
  for (const [k, v] of Object.entries(cols)) data[k] = Array.from(rows, (i) => v[i]!);
  return { data, rows: rows.length };
}

/** Stacks several column sets that share the day axis, each with its own rows, adding constant key columns (period, tf). */
export function stackColumns(parts: Array<{ keys: Record<string, number | string>; cols: Record<string, Col>; rows: Int32Array }>, assetId: number, dates: readonly string[]) {
  const total = parts.reduce((s, p) => s + p.rows.length, 0);
  const data: Record<string, Array<number | string | null>> = { asset_id: new Array(total).fill(assetId), ts: new Array(total) };
  let base = 0;
  for (const part of parts) {
    const { rows } = part;
    for (let j = 0; j < rows.length; j++) data.ts![base + j] = dates[rows[j]!]!;
    for (const [k, v] of Object.entries(part.keys)) (data[k] ??= new Array(total)).fill(v as never, base, base + rows.length);
    for (const [k, col] of Object.entries(part.cols)) {
      const out = (data[k] ??= new Array(total));
      for (let j = 0; j < rows.length; j++) out[base + j] = col[rows[j]!]!;
    }
    base += rows.length;
  }
  return { data: data as ColumnData, rows: total };
}
