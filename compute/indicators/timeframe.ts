/**
 * Multi-timeframe EMA helpers and the `dim_timeframe` catalogue.
 *
 * A higher-timeframe (tf) bar is built from daily bars. A daily bar is *canonical* when it closes a tf bar;
 * the bars in between are *previews* (`roll = 1`): their EMA value is what the tf EMA would be if the tf bar
 * closed right now at today's close, i.e. `ema_prev_canonical + α·(close − ema_prev_canonical)`. The state is
 * only ever advanced by canonical closes, so previews never leak into later canonical values and a canonical
 * row is identical whether it was computed live or in a backfill.
 *
 * The tf EMA itself follows ema.ts (TA-Lib): α = 2/(N+1), seeded with the mean of the first N canonical
 * closes. A preview bar while exactly N−1 canonical closes are known gets the seed it would produce,
 * (Σ canonical + close)/N; earlier bars are NaN. Closes must be finite (the price store has no gaps).
 *
 * Trading-day alignment (`k` bars): counted from the first bar of the series, bar i is canonical when
 * (i+1) % k == 0, so results depend on where the series starts — callers must always pass full history.
 *
 * Calendar alignment (weekly = ISO weeks starting Monday, monthly, quarterly, yearly): a bar is canonical when
 * it is the last bar of its calendar period present in the data. The last bar of the series is canonical only
 * when its period is complete, which the data alone cannot tell: `isPeriodEnd(date)` decides. The default
 * predicate is the 24/7 (crypto) rule "date is the last calendar day of the period"; for equities pass one
 * based on the exchange calendar. The default errs on the safe side: it may call a finished equity month a
 * preview until the next bar arrives, never the reverse.
 * Multi-period buckets (2W, 6M, 2Y, …) are anchored at a fixed epoch, not at the start of the data — weeks at
 * Monday 1970-01-05 (floor(isoWeekIndex / m)), months/quarters/years at January of year 0
 * (floor(monthIndex / monthsPerBucket)) — so 3M ≡ 1Q, 6M ≡ 2Q, 12M ≡ 1Y and buckets never shift when history is
 * extended backwards.
 */

export type CalendarScheme = "weekly" | "monthly" | "quarterly" | "yearly";

export interface TfEmaResult {
  /** tf EMA, canonical value on canonical bars and preview value on the others; NaN during warm-up */
  ema: Float64Array;
  /** 1 = preview (rolling) bar, 0 = canonical */
  roll: Uint8Array;
  /** 1 = this daily bar closes a tf bar */
  canonical: Uint8Array;
}

// ---------------------------------------------------------------------------------------------------------
// Core: EMA over canonical closes with previews
// ---------------------------------------------------------------------------------------------------------

/** tf EMA of `close` given a canonical-bar mask (see file header). */
export function tfEmaFromCanonical(close: ArrayLike<number>, canonical: Uint8Array, period: number): TfEmaResult {
  if (!Number.isInteger(period) || period < 1) throw new RangeError(`tf ema: period must be a positive integer, got ${period}`);
  const n = close.length;
  if (canonical.length !== n) throw new RangeError("tf ema: close and canonical lengths differ");
  const out = new Float64Array(n);
  const roll = new Uint8Array(n);
  const alpha = 2 / (period + 1);
  const beta = 1 - alpha; // same update form as ema.ts, so 1D is bit-identical to the daily EMA
  let count = 0; // canonical closes consumed
  let seedSum = 0;
  let e = NaN;
  for (let i = 0; i < n; i++) {
    const c = close[i];
    if (canonical[i] !== 0) {
      if (count >= period) {
        e = beta * e + alpha * c;
        out[i] = e;
      } else {
        seedSum += c;
        count++;
        if (count === period) {
          e = seedSum / period;
          out[i] = e;
        } else {
          out[i] = NaN;
        }
      }
    } else {
      roll[i] = 1;
      if (count >= period) out[i] = beta * e + alpha * c;
      else if (count === period - 1) out[i] = (seedSum + c) / period;
      else out[i] = NaN;
    }
  }
  return { ema: out, roll, canonical };
}

// ---------------------------------------------------------------------------------------------------------
// Trading-day alignment
// ---------------------------------------------------------------------------------------------------------

/** Canonical mask for a k-bar trading-day timeframe: bar i closes a tf bar when (i+1) % k == 0. */
export function tradingDayCanonical(n: number, k: number): Uint8Array {
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`tf: k must be a positive integer, got ${k}`);
  const mask = new Uint8Array(n);
  for (let i = k - 1; i < n; i += k) mask[i] = 1;
  return mask;
}

/** tf EMA for a k-bar trading-day timeframe (k = 1 reproduces the daily EMA with roll = 0 everywhere). */
export function tradingDayTfEma(close: ArrayLike<number>, k: number, period: number): TfEmaResult {
  return tfEmaFromCanonical(close, tradingDayCanonical(close.length, k), period);
}

// ---------------------------------------------------------------------------------------------------------
// Calendar alignment
// ---------------------------------------------------------------------------------------------------------

/** Parses 'YYYY-MM-DD' into [year, month(1-12), day]; throws on anything else. */
export function parseYmd(s: string): [number, number, number] {
  let ok = s.length === 10 && s.charCodeAt(4) === 45 && s.charCodeAt(7) === 45;
  const dig = (i: number) => {
    const v = s.charCodeAt(i) - 48;
    if (!(v >= 0 && v <= 9)) ok = false;
    return v;
  };
  const y = dig(0) * 1000 + dig(1) * 100 + dig(2) * 10 + dig(3);
  const m = dig(5) * 10 + dig(6);
  const d = dig(8) * 10 + dig(9);
  if (!ok || m < 1 || m > 12 || d < 1 || d > daysInMonth(y, m)) throw new RangeError(`bad date '${s}' (want YYYY-MM-DD)`);
  return [y, m, d];
}

export function daysInMonth(y: number, m: number): number {
  if (m === 2) return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28;
  return m === 4 || m === 6 || m === 9 || m === 11 ? 30 : 31;
}

/** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
export function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  return era * 146097 + yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy - 719468;
}

/** Monday-start week number; week 1 starts Monday 1970-01-05 (1970-01-01 was a Thursday). */
export function isoWeekIndex(days: number): number {
  return Math.floor((days + 3) / 7);
}

const MONTHS_PER: Record<CalendarScheme, number> = { weekly: 0, monthly: 1, quarterly: 3, yearly: 12 };

/** (y, m, d, days) → bucket id for (scheme, multiple); equal ids ⇔ same tf bar. Validates the arguments. */
function bucketFn(scheme: CalendarScheme, multiple: number): (y: number, m: number, days: number) => number {
  if (!Object.prototype.hasOwnProperty.call(MONTHS_PER, scheme)) throw new RangeError(`unknown calendar scheme '${String(scheme)}'`);
  if (!Number.isInteger(multiple) || multiple < 1) throw new RangeError(`calendar multiple must be a positive integer, got ${multiple}`);
  if (scheme === "weekly") return (_y, _m, days) => Math.floor(isoWeekIndex(days) / multiple);
  const span = MONTHS_PER[scheme] * multiple;
  return (y, m) => Math.floor((y * 12 + m - 1) / span);
}

/** Bucket id of a date for (scheme, multiple); equal ids ⇔ same tf bar. */
export function calendarBucket(date: string, scheme: CalendarScheme, multiple = 1): number {
  const [y, m, d] = parseYmd(date);
  return bucketFn(scheme, multiple)(y, m, daysFromCivil(y, m, d));
}

/** 24/7-market period-end predicate: true when `date` is the last calendar day of its bucket. */
export function calendarPeriodEnd(scheme: CalendarScheme, multiple = 1): (date: string) => boolean {
  const bucket = bucketFn(scheme, multiple);
  return (date) => {
    const [y, m, d] = parseYmd(date);
    const days = daysFromCivil(y, m, d);
    const last = d === daysInMonth(y, m);
    const [ny, nm] = !last ? [y, m] : m === 12 ? [y + 1, 1] : [y, m + 1]; // month of the next day
    return bucket(y, m, days) !== bucket(ny, nm, days + 1);
  };
}

/** Canonical mask for a calendar timeframe over ascending 'YYYY-MM-DD' dates (one bar per date, gaps allowed). */
export function calendarCanonical(
  dates: readonly string[],
  scheme: CalendarScheme,
  multiple = 1,
  isPeriodEnd: (date: string) => boolean = calendarPeriodEnd(scheme, multiple),
): Uint8Array {
  const bucket = bucketFn(scheme, multiple);
  const n = dates.length;
  const mask = new Uint8Array(n);
  if (n === 0) return mask;
  let prevDays = -Infinity;
  let prevBucket = 0;
  for (let i = 0; i < n; i++) {
    const [y, m, d] = parseYmd(dates[i]);
    const days = daysFromCivil(y, m, d);
    if (days <= prevDays) throw new RangeError(`calendar tf: dates must be strictly increasing (at ${i}: ${dates[i]})`);
    const b = bucket(y, m, days);
    if (i > 0 && b !== prevBucket) mask[i - 1] = 1;
    prevDays = days;
    prevBucket = b;
  }
  if (isPeriodEnd(dates[n - 1])) mask[n - 1] = 1;
  return mask;
}

/** tf EMA for a calendar timeframe (see file header for canonical/preview rules). */
export function calendarTfEma(
  dates: readonly string[],
  close: ArrayLike<number>,
  scheme: CalendarScheme,
  multiple: number,
  period: number,
  isPeriodEnd?: (date: string) => boolean,
): TfEmaResult {
  if (dates.length !== close.length) throw new RangeError("calendar tf: dates and close lengths differ");
  return tfEmaFromCanonical(close, calendarCanonical(dates, scheme, multiple, isPeriodEnd), period);
}

// ---------------------------------------------------------------------------------------------------------
// dim_timeframe catalogue
// ---------------------------------------------------------------------------------------------------------

export interface TimeframeRow {
  tf_label: string;
  /** bars for trading-day tfs; rounded mean calendar length in days for calendar tfs */
  tf_days: number;
  is_calendar: boolean;
  is_canonical: true;
  calendar_scheme: CalendarScheme | null;
  tf_days_min: number;
  tf_days_max: number;
}

/**
 * The catalogue has exactly 199 rows, by construction:
 *   trading-day tfs (183): every day 1D–160D (160) — short horizons are where strategies differ most —, then
 *     every 5 days 165D–180D (4), every 10 days 190D–360D (18), and 365D (1). The daily tier's upper end (160)
 *     is the free parameter that brings the total to 199; the coarser tiers are the agreed ones, so every
 *     label of the original sketch (1–30D, 35–180D step 5, 190–360D step 10, 365D) is present.
 *   calendar tfs (16): 1W 2W 3W 4W (ISO weeks) · 1M 2M 3M 6M 9M 12M · 1Q 2Q 3Q · 1Y 2Y 3Y.
 * tf_days_min/max of calendar tfs are the shortest/longest bucket over a full 1200-year cycle of the epoch
 * anchoring described above (1200 years covers the 400-year Gregorian cycle and every bucket multiple), so
 * they are exact for the buckets calendarCanonical() actually produces (1M 28/31, 1Q 90/92, 1Y 365/366, …).
 */
export const TIMEFRAME_COUNT = 199;

/** [from, to, step] in bars */
const TRADING_DAY_TIERS = [[1, 160, 1], [165, 180, 5], [190, 360, 10], [365, 365, 1]] as const;

const CALENDAR_SETS: ReadonlyArray<readonly [scheme: CalendarScheme, suffix: string, multiples: readonly number[]]> = [
  ["weekly", "W", [1, 2, 3, 4]],
  ["monthly", "M", [1, 2, 3, 6, 9, 12]],
  ["quarterly", "Q", [1, 2, 3]],
  ["yearly", "Y", [1, 2, 3]],
];

const MEAN_MONTH_DAYS = 365.2425 / 12;

/** Shortest and longest bucket of `span` months (epoch-anchored) over a full 1200-year cycle, in days. */
function monthSpanRange(span: number): [number, number] {
  let [min, max, acc] = [Infinity, -Infinity, 0];
  for (let mi = 0; mi < 1200 * 12; mi++) {
    acc += daysInMonth(Math.floor(mi / 12), (mi % 12) + 1);
    if ((mi + 1) % span === 0) {
      [min, max, acc] = [Math.min(min, acc), Math.max(max, acc), 0];
    }
  }
  return [min, max];
}

export function buildTimeframes(): TimeframeRow[] {
  const rows: TimeframeRow[] = [];
  for (const [from, to, step] of TRADING_DAY_TIERS) {
    for (let k = from; k <= to; k += step) {
      rows.push({ tf_label: `${k}D`, tf_days: k, is_calendar: false, is_canonical: true, calendar_scheme: null, tf_days_min: k, tf_days_max: k });
    }
  }
  for (const [scheme, suffix, multiples] of CALENDAR_SETS) {
    for (const m of multiples) {
      const span = MONTHS_PER[scheme] * m; // 0 for weeks
      const [min, max] = span === 0 ? [7 * m, 7 * m] : monthSpanRange(span);
      const tfDays = span === 0 ? 7 * m : Math.round(span * MEAN_MONTH_DAYS);
      rows.push({ tf_label: `${m}${suffix}`, tf_days: tfDays, is_calendar: true, is_canonical: true, calendar_scheme: scheme, tf_days_min: min, tf_days_max: max });
    }
  }
  if (rows.length !== TIMEFRAME_COUNT) throw new Error(`buildTimeframes: ${rows.length} rows, expected ${TIMEFRAME_COUNT}`);
  return rows;
}

/** Frozen catalogue (rows frozen too). */
export const TIMEFRAMES: readonly Readonly<TimeframeRow>[] = Object.freeze(buildTimeframes().map((r) => Object.freeze(r)));

export type ParsedTf = { kind: "trading"; k: number } | { kind: "calendar"; scheme: CalendarScheme; multiple: number };

const SUFFIX_SCHEME: Record<string, CalendarScheme> = { W: "weekly", M: "monthly", Q: "quarterly", Y: "yearly" };

/** '21D' → trading k=21; '3M' → monthly ×3. Throws on labels outside the catalogue syntax. */
export function parseTfLabel(label: string): ParsedTf {
  const m = /^([1-9][0-9]*)([DWMQY])$/.exec(label);
  if (!m) throw new RangeError(`bad timeframe label '${label}'`);
  const k = Number(m[1]);
  if (m[2] === "D") return { kind: "trading", k };
  return { kind: "calendar", scheme: SUFFIX_SCHEME[m[2]], multiple: k };
}

/** Dispatch on a tf label: which daily bars close a tf bar (trading-day or calendar); shared by its EMAs of every period. */
export function tfCanonical(tfLabel: string, dates: readonly string[], isPeriodEnd?: (date: string) => boolean): Uint8Array {
  const tf = parseTfLabel(tfLabel);
  return tf.kind === "trading" ? tradingDayCanonical(dates.length, tf.k) : calendarCanonical(dates, tf.scheme, tf.multiple, isPeriodEnd);
}

/** Dispatch on a tf label: trading-day or calendar tf EMA of `period` tf bars. */
export function tfEma(tfLabel: string, dates: readonly string[], close: ArrayLike<number>, period: number, isPeriodEnd?: (date: string) => boolean): TfEmaResult {
  const tf = parseTfLabel(tfLabel);
  if (tf.kind === "trading") return tradingDayTfEma(close, tf.k, period);
  return calendarTfEma(dates, close, tf.scheme, tf.multiple, period, isPeriodEnd);
}
