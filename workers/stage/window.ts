// The dirty window of an incremental refresh: from `lookback` bars before the watermark to the last bar.
import type { ColumnData } from "../../db/repos/columns.ts";

/** Index of the first bar to write. */
export function windowStart(dates: readonly string[], watermark: string | undefined, lookback: number, full: boolean): number {
  if (full || !watermark) return 0;
  let lo = 0;
  let hi = dates.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (dates[mid]! <= watermark) lo = mid + 1;
    else hi = mid;
  }
  // lo = first bar after the watermark
  return Math.max(0, lo - lookback);
}

/** Column data for rows [from, end) of one asset, viewing (not copying) the computed arrays. */
export function windowColumns(assetId: number, dates: readonly string[], cols: Record<string, ArrayLike<number>>, from: number): { data: ColumnData; rows: number } {
  const rows = dates.length - from;
  const data: ColumnData = { asset_id: new Array<number>(rows).fill(assetId), ts: dates.slice(from) };
  for (const [k, v] of Object.entries(cols)) data[k] = (v as Float64Array).subarray ? (v as Float64Array).subarray(from) : Array.prototype.slice.call(v, from);
  return { data, rows };
}

/** Stacks several column sets that share the day axis, adding constant key columns (period, tf). */
export function stackColumns(parts: Array<{ keys: Record<string, number | string>; cols: Record<string, ArrayLike<number>> }>, assetId: number, dates: readonly string[], from: number) {
  const rowsEach = dates.length - from;
  const rows = rowsEach * parts.length;
  const data: Record<string, Array<number | string | null>> = { asset_id: new Array(rows).fill(assetId), ts: new Array(rows) };
  parts.forEach((part, p) => {
    const base = p * rowsEach;
    for (let i = 0; i < rowsEach; i++) data.ts![base + i] = dates[from + i]!;
    for (const [k, v] of Object.entries(part.keys)) (data[k] ??= new Array(rows)).fill(v as never, base, base + rowsEach);
    for (const [k, col] of Object.entries(part.cols)) {
      const out = (data[k] ??= new Array(rows));
      for (let i = 0; i < rowsEach; i++) out[base + i] = col[from + i]!;
    }
  });
  return { data: data as ColumnData, rows };
}
