// Parses and validates a daily OHLCV CSV (date,open,high,low,close,volume). Pure: every bad row is reported
// with its line number and reason, so an import can refuse the whole file before writing anything.
export interface PriceRow {
  ts: string;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
}

export interface RowProblem {
  line: number;
  reason: string;
}

export interface ParsedPrices {
  rows: PriceRow[];
  problems: RowProblem[];
}

const HEADER = ["date", "open", "high", "low", "close", "volume"];
const DATE = /^\d{4}-\d{2}-\d{2}$/;

function realDate(s: string): boolean {
  return DATE.test(s) && new Date(`${s}T00:00:00Z`).toISOString().startsWith(s);
}

export function parsePrices(text: string): ParsedPrices {
  const lines = text.split(/\r?\n/);
  const problems: RowProblem[] = [];
  const rows: PriceRow[] = [];
  const header = (lines[0] ?? "").split(",").map((h) => h.trim().toLowerCase());
  if (header.join(",") !== HEADER.join(",")) {
    return { rows, problems: [{ line: 1, reason: `header must be ${HEADER.join(",")} (got ${JSON.stringify(lines[0] ?? "")})` }] };
  }
  let prev: string | undefined;
  for (let i = 1; i < lines.length; i++) {
    const raw = lines[i]!.trim();
    if (!raw) continue;
    const line = i + 1;
    const f = raw.split(",");
    if (f.length !== 6) {
      problems.push({ line, reason: `expected 6 fields, got ${f.length}` });
      continue;
    }
    const [ts, ...nums] = f.map((x) => x.trim()) as [string, ...string[]];
    const reasons: string[] = [];
    if (!realDate(ts)) reasons.push(`date ${JSON.stringify(ts)} is not a YYYY-MM-DD calendar date`);
    const [open, high, low, close, volume] = nums.map((x) => (x === "" ? NaN : Number(x))) as [number, number, number, number, number];
    const named = { open, high, low, close, volume };
    for (const [k, v] of Object.entries(named)) if (!Number.isFinite(v)) reasons.push(`${k} ${JSON.stringify(nums[Object.keys(named).indexOf(k)])} is not a number`);
    if (!reasons.length) {
      for (const k of ["open", "high", "low", "close"] as const) if (named[k] <= 0) reasons.push(`${k} must be positive (got ${named[k]})`);
      if (high < Math.max(open, close)) reasons.push(`high ${high} < max(open, close) ${Math.max(open, close)}`);
      if (low > Math.min(open, close)) reasons.push(`low ${low} > min(open, close) ${Math.min(open, close)}`);
      if (volume < 0) reasons.push(`volume must be ≥ 0 (got ${volume})`);
    }
    if (realDate(ts) && prev !== undefined && ts <= prev) reasons.push(ts === prev ? `duplicate date ${ts}` : `date ${ts} is not after ${prev} (rows must be sorted)`);
    if (realDate(ts)) prev = ts;
    if (reasons.length) problems.push({ line, reason: reasons.join("; ") });
    else rows.push({ ts, open, high, low, close, volume });
  }
  if (!rows.length && !problems.length) problems.push({ line: 2, reason: "no data rows" });
  return { rows, problems };
}
