// Validates a daily OHLCV CSV (date,open,high,low,close,volume) one line at a time, so a file of any size
// is checked in constant memory. Every bad row is reported with its line number and reason (the first
// `maxListed` are kept, all are counted), so an import can refuse the whole file.
export interface RowProblem {
  line: number;
  reason: string;
}

const HEADER = "date,open,high,low,close,volume";
const DATE = /^\d{4}-\d{2}-\d{2}$/;
// Digits with an optional fraction (and a sign, so "-1" is reported as a negative price rather than as
// garbage). Number() alone would also take "0x10", "1e3", "+5", " 7" and "" (as 0).
const DECIMAL = /^-?\d+(?:\.\d+)?$/;
const FIELDS = ["open", "high", "low", "close", "volume"] as const;

const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function realDate(s: string): boolean {
  if (!DATE.test(s)) return false;
  const [y, m, d] = [Number(s.slice(0, 4)), Number(s.slice(5, 7)), Number(s.slice(8))];
  const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
  return m >= 1 && m <= 12 && d >= 1 && d <= (m === 2 && leap ? 29 : MONTH_DAYS[m - 1]!);
}

export class PriceCsvValidator {
  /** The first `maxListed` problems, in line order. */
  readonly problems: RowProblem[] = [];
  problemCount = 0;
  rows = 0;
  private lineNo = 0;
  private headerOk = false;
  private prev: string | undefined;

  constructor(private readonly maxListed = Number.POSITIVE_INFINITY) {}

  /** The next line of the file (without its line break); true when it is a valid data row. */
  push(text: string): boolean {
    const line = ++this.lineNo;
    const raw = text.trim();
    if (line === 1) {
      this.headerOk = raw.toLowerCase().split(",").map((h) => h.trim()).join(",") === HEADER;
      return this.headerOk ? false : this.badHeader(text);
    }
    // Under a wrong header every row would be wrong too: the header is the one problem worth reporting.
    if (!raw || !this.headerOk) return false;
    const f = raw.split(",");
    if (f.length !== 6) return this.problem(line, `expected 6 fields, got ${f.length}`);
    const [ts, ...texts] = f as [string, ...string[]];
    const reasons: string[] = [];
    const dated = realDate(ts);
    if (!dated) reasons.push(`date ${JSON.stringify(ts)} is not a YYYY-MM-DD calendar date`);
    const [open, high, low, close, volume] = texts.map((x) => (DECIMAL.test(x) ? Number(x) : NaN)) as [number, number, number, number, number];
    const named = { open, high, low, close, volume };
    FIELDS.forEach((k, i) => {
      if (!Number.isFinite(named[k])) reasons.push(`${k} ${JSON.stringify(texts[i])} is not a plain decimal (digits with an optional fraction, e.g. 123.45)`);
    });
    if (!reasons.length) {
      for (const k of ["open", "high", "low", "close"] as const) if (named[k] <= 0) reasons.push(`${k} must be positive (got ${named[k]})`);
      if (high < Math.max(open, close)) reasons.push(`high ${high} < max(open, close) ${Math.max(open, close)}`);
      if (low > Math.min(open, close)) reasons.push(`low ${low} > min(open, close) ${Math.min(open, close)}`);
      if (volume < 0) reasons.push(`volume must be ≥ 0 (got ${volume})`);
    }
    if (dated && this.prev !== undefined && ts <= this.prev) reasons.push(ts === this.prev ? `duplicate date ${ts}` : `date ${ts} is not after ${this.prev} (rows must be sorted)`);
    if (dated) this.prev = ts;
    if (reasons.length) return this.problem(line, reasons.join("; "));
    this.rows++;
    return true;
  }

  /** A line the reader cut off after `max` characters: no valid row is that long. */
  tooLong(max: number): false {
    return this.problem(++this.lineNo, `line longer than ${max} characters`);
  }

  /** After the last line: a file without a data row is refused too. */
  end(): void {
    if (this.lineNo === 0) this.badHeader("");
    else if (!this.rows && !this.problemCount) this.problem(2, "no data rows");
  }

  private badHeader(got: string): false {
    return this.problem(1, `header must be ${HEADER} (got ${JSON.stringify(got)})`);
  }

  private problem(line: number, reason: string): false {
    if (this.problemCount++ < this.maxListed) this.problems.push({ line, reason });
    return false;
  }
}
