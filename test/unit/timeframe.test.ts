import { describe, it, expect } from "vitest";
import fs from "node:fs";
import path from "node:path";
import { ema } from "../../compute/indicators/ema.ts";
import {
  TIMEFRAMES, TIMEFRAME_COUNT, buildTimeframes, calendarBucket, calendarCanonical, calendarPeriodEnd, calendarTfEma,
  daysFromCivil, parseTfLabel, parseYmd, tfEma, tfEmaFromCanonical, tradingDayCanonical, tradingDayTfEma,
  type CalendarScheme,
} from "../../compute/indicators/timeframe.ts";

const DATA_DIR = path.resolve(import.meta.dirname, "../../data");

function loadCsv(name: string): { dates: string[]; close: Float64Array } {
  let file = path.join(DATA_DIR, name);
  if (!fs.existsSync(file)) file = path.join("/work/shared/data", name);
  const lines = fs.readFileSync(file, "utf8").trim().split(/\r?\n/).slice(1);
  return { dates: lines.map((l) => l.slice(0, 10)), close: Float64Array.from(lines, (l) => Number(l.split(",")[4])) };
}

const BTC = loadCsv("BTC-USD_daily.csv");
const SPY = loadCsv("SPY_daily.csv");

const utc = (d: string) => new Date(`${d}T00:00:00Z`);
const bits = (a: Uint8Array) => Array.from(a);

/** Independent reference: EMA over the canonical closes, previews recomputed from scratch per bar. */
function refTfEma(close: ArrayLike<number>, canonical: ArrayLike<number>, period: number): number[] {
  const a = 2 / (period + 1);
  const canonCloses: number[] = [];
  const canonEma: number[] = [];
  const out: number[] = [];
  for (let i = 0; i < close.length; i++) {
    const c = close[i];
    const k = canonCloses.length; // canonical closes strictly before i
    if (canonical[i]) {
      canonCloses.push(c);
      const m = canonCloses.length;
      let v = NaN;
      if (m === period) v = canonCloses.reduce((s, x) => s + x, 0) / period;
      else if (m > period) v = a * c + (1 - a) * canonEma[m - 2];
      canonEma.push(v);
      out.push(v);
    } else if (k >= period) {
      out.push(a * c + (1 - a) * canonEma[k - 1]);
    } else if (k === period - 1) {
      out.push((canonCloses.reduce((s, x) => s + x, 0) + c) / period);
    } else {
      out.push(NaN);
    }
  }
  return out;
}

function expectClose(name: string, actual: ArrayLike<number>, expected: ArrayLike<number>, rel = 1e-9): void {
  expect(actual.length).toBe(expected.length);
  const bad: string[] = [];
  for (let i = 0; i < expected.length && bad.length < 5; i++) {
    const a = actual[i];
    const e = expected[i];
    if (Number.isNaN(a) || Number.isNaN(e)) {
      if (Number.isNaN(a) !== Number.isNaN(e)) bad.push(`[${i}] got ${a} want ${e}`);
    } else if (!(Math.abs(a - e) <= rel * Math.abs(e))) bad.push(`[${i}] got ${a} want ${e}`);
  }
  expect(bad, name).toEqual([]);
}

describe("dim_timeframe catalogue", () => {
  it("has exactly 199 rows by construction, frozen, unique labels", () => {
    expect(TIMEFRAME_COUNT).toBe(199);
    expect(TIMEFRAMES.length).toBe(199);
    expect(buildTimeframes()).toEqual(TIMEFRAMES);
    expect(Object.isFrozen(TIMEFRAMES)).toBe(true);
    expect(TIMEFRAMES.every((r) => Object.isFrozen(r))).toBe(true);
    expect(new Set(TIMEFRAMES.map((r) => r.tf_label)).size).toBe(199);
    expect(TIMEFRAMES.every((r) => r.is_canonical === true)).toBe(true);
    expect(Object.keys(TIMEFRAMES[0]).sort()).toEqual(["calendar_scheme", "is_calendar", "is_canonical", "tf_days", "tf_days_max", "tf_days_min", "tf_label"]);
  });
  it("trading-day tiers: 1–160 daily, 165–180 step 5, 190–360 step 10, 365 (183 rows)", () => {
    const trading = TIMEFRAMES.filter((r) => !r.is_calendar);
    expect(trading.length).toBe(183);
    const want: number[] = [];
    for (let k = 1; k <= 160; k++) want.push(k);
    for (let k = 165; k <= 180; k += 5) want.push(k);
    for (let k = 190; k <= 360; k += 10) want.push(k);
    want.push(365);
    expect(trading.map((r) => r.tf_days)).toEqual(want);
    for (const r of trading) {
      expect(r.tf_label).toBe(`${r.tf_days}D`);
      expect(r.calendar_scheme).toBeNull();
      expect([r.tf_days_min, r.tf_days_max]).toEqual([r.tf_days, r.tf_days]);
    }
    // every label of the original sketch is present
    const labels = new Set(TIMEFRAMES.map((r) => r.tf_label));
    const sketch = [...Array.from({ length: 30 }, (_, i) => i + 1), ...Array.from({ length: 30 }, (_, i) => 35 + 5 * i), ...Array.from({ length: 18 }, (_, i) => 190 + 10 * i), 365];
    for (const k of sketch) expect(labels.has(`${k}D`), `${k}D`).toBe(true);
  });
  it("calendar rows (16) with exact min/max bucket lengths", () => {
    const cal = TIMEFRAMES.filter((r) => r.is_calendar);
    expect(cal.map((r) => r.tf_label)).toEqual(["1W", "2W", "3W", "4W", "1M", "2M", "3M", "6M", "9M", "12M", "1Q", "2Q", "3Q", "1Y", "2Y", "3Y"]);
    const by = Object.fromEntries(cal.map((r) => [r.tf_label, r]));
    expect(by["1W"]).toMatchObject({ calendar_scheme: "weekly", tf_days: 7, tf_days_min: 7, tf_days_max: 7 });
    expect(by["4W"]).toMatchObject({ tf_days: 28, tf_days_min: 28, tf_days_max: 28 });
    expect(by["1M"]).toMatchObject({ calendar_scheme: "monthly", tf_days_min: 28, tf_days_max: 31 });
    expect(by["2M"]).toMatchObject({ tf_days_min: 59, tf_days_max: 62 }); // Jan+Feb 59/60 … Jul+Aug 62
    expect(by["6M"]).toMatchObject({ tf_days_min: 181, tf_days_max: 184 });
    expect(by["1Q"]).toMatchObject({ calendar_scheme: "quarterly", tf_days_min: 90, tf_days_max: 92 });
    expect(by["1Y"]).toMatchObject({ calendar_scheme: "yearly", tf_days: 365, tf_days_min: 365, tf_days_max: 366 });
    expect(by["2Y"]).toMatchObject({ tf_days_min: 730, tf_days_max: 731 });
    // aligned equivalents have identical spans
    for (const [a, b] of [["3M", "1Q"], ["6M", "2Q"], ["9M", "3Q"], ["12M", "1Y"]]) {
      expect([by[a].tf_days_min, by[a].tf_days_max, by[a].tf_days]).toEqual([by[b].tf_days_min, by[b].tf_days_max, by[b].tf_days]);
    }
    for (const r of cal) expect(r.tf_days_min <= r.tf_days && r.tf_days <= r.tf_days_max, r.tf_label).toBe(true);
  });
  it("labels parse back", () => {
    for (const r of TIMEFRAMES) {
      const p = parseTfLabel(r.tf_label);
      if (r.is_calendar) expect(p).toMatchObject({ kind: "calendar", scheme: r.calendar_scheme });
      else expect(p).toEqual({ kind: "trading", k: r.tf_days });
    }
    expect(() => parseTfLabel("0D")).toThrow(RangeError);
    expect(() => parseTfLabel("1H")).toThrow(RangeError);
  });
});

describe("trading-day alignment", () => {
  it("bar i is canonical when (i+1) % k == 0, counted from the first bar", () => {
    expect(bits(tradingDayCanonical(10, 3))).toEqual([0, 0, 1, 0, 0, 1, 0, 0, 1, 0]);
    expect(bits(tradingDayCanonical(3, 1))).toEqual([1, 1, 1]);
    expect(() => tradingDayCanonical(3, 0)).toThrow(RangeError);
  });
  it("hand case: k = 2, period 2 (α = 2/3)", () => {
    const close = [1, 2, 3, 4, 5, 6, 7, 8];
    const r = tradingDayTfEma(close, 2, 2);
    // canonical closes 2,4,6,8 at bars 1,3,5,7. Seed (2+4)/2 = 3 at bar 3; bar 5: 3 + 2/3·(6−3) = 5; bar 7: 7.
    // previews: bar 0 NaN (no canonical yet); bar 2 (one canonical known = N−1): (2 + 3)/2 = 2.5;
    //           bar 4: 3 + 2/3·(5−3) = 13/3; bar 6: 5 + 2/3·(7−5) = 19/3
    expect(bits(r.canonical)).toEqual([0, 1, 0, 1, 0, 1, 0, 1]);
    expect(bits(r.roll)).toEqual([1, 0, 1, 0, 1, 0, 1, 0]);
    expectClose("tf ema", r.ema, [NaN, NaN, 2.5, 3, 13 / 3, 5, 19 / 3, 7], 1e-14);
  });
  it("k = 1 is the daily EMA with roll = 0 everywhere", () => {
    const r = tradingDayTfEma(BTC.close, 1, 21);
    expect(Array.from(r.ema)).toEqual(Array.from(ema(BTC.close, 21)));
    expect(r.roll.every((v) => v === 0)).toBe(true);
  });
  it("BTC vs independent reference for several (k, period)", () => {
    for (const [k, p] of [[2, 3], [7, 10], [30, 5], [365, 2]]) {
      const mask = Array.from(BTC.close, (_, i) => ((i + 1) % k === 0 ? 1 : 0));
      const r = tradingDayTfEma(BTC.close, k, p);
      expect(bits(r.canonical)).toEqual(mask);
      expect(bits(r.roll)).toEqual(mask.map((m) => 1 - m));
      expectClose(`${k}D/${p}`, r.ema, refTfEma(BTC.close, mask, p));
    }
  });
});

describe("calendar helpers", () => {
  it("parses dates strictly and counts days like Date.UTC", () => {
    expect(parseYmd("2024-02-29")).toEqual([2024, 2, 29]);
    expect(() => parseYmd("2023-02-29")).toThrow(RangeError);
    expect(() => parseYmd("2024-1-01")).toThrow(RangeError);
    expect(() => parseYmd("2024/01/01")).toThrow(RangeError);
    for (const d of ["1970-01-01", "2000-02-29", "2014-09-17", "1899-12-31", "2100-03-01"]) {
      expect(daysFromCivil(...parseYmd(d))).toBe(utc(d).getTime() / 86_400_000);
    }
  });
  it("period-end predicate for 24/7 markets", () => {
    const mEnd = calendarPeriodEnd("monthly");
    expect(mEnd("2024-02-29")).toBe(true);
    expect(mEnd("2024-02-28")).toBe(false);
    expect(mEnd("2023-02-28")).toBe(true);
    expect(calendarPeriodEnd("quarterly")("2024-06-30")).toBe(true);
    expect(calendarPeriodEnd("quarterly")("2024-05-31")).toBe(false);
    expect(calendarPeriodEnd("yearly")("2024-12-31")).toBe(true);
    expect(calendarPeriodEnd("yearly")("2024-11-30")).toBe(false);
    expect(calendarPeriodEnd("monthly", 6)("2024-06-30")).toBe(true);
    expect(calendarPeriodEnd("monthly", 6)("2024-03-31")).toBe(false);
    expect(calendarPeriodEnd("yearly", 2)("2023-12-31")).toBe(true); // buckets [2022, 2023], [2024, 2025]
    expect(calendarPeriodEnd("yearly", 2)("2024-12-31")).toBe(false);
    const wEnd = calendarPeriodEnd("weekly");
    expect(wEnd("2024-01-07")).toBe(true); // Sunday
    expect(wEnd("2024-01-06")).toBe(false);
    // 2W buckets are anchored at Monday 1970-01-05 (ISO week index 1 → bucket 0 with index 0)
    expect(calendarPeriodEnd("weekly", 2)("1970-01-11")).toBe(true);
    expect(calendarPeriodEnd("weekly", 2)("1970-01-04")).toBe(false);
  });
  it("buckets: weeks start on Monday; aligned multiples coincide", () => {
    expect(calendarBucket("2023-12-31", "weekly")).toBe(calendarBucket("2023-12-25", "weekly")); // Sun, Mon
    expect(calendarBucket("2024-01-01", "weekly")).toBe(calendarBucket("2023-12-31", "weekly") + 1);
    for (const d of ["2014-09-17", "2020-02-29", "2022-12-31", "2023-01-01", "2024-07-01"]) {
      expect(calendarBucket(d, "monthly", 3)).toBe(calendarBucket(d, "quarterly", 1));
      expect(calendarBucket(d, "monthly", 12)).toBe(calendarBucket(d, "yearly", 1));
    }
  });
});

describe("calendar alignment", () => {
  it("crypto weekly: canonical on Sundays, unfinished last week is a preview", () => {
    const dates = ["2023-12-29", "2023-12-30", "2023-12-31", "2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05", "2024-01-06", "2024-01-07", "2024-01-08", "2024-01-09"];
    expect(bits(calendarCanonical(dates, "weekly"))).toEqual([0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 0]);
    expect(bits(calendarCanonical(dates.slice(0, 10), "weekly"))).toEqual([0, 0, 1, 0, 0, 0, 0, 0, 0, 1]);
  });
  it("equity weekly: last trading day of the week; the last bar needs a session-aware predicate", () => {
    const dates = ["2024-03-25", "2024-03-26", "2024-03-27", "2024-03-28", /* Good Friday */ "2024-04-01", "2024-04-02", "2024-04-03", "2024-04-04", "2024-04-05"];
    expect(bits(calendarCanonical(dates, "weekly"))).toEqual([0, 0, 0, 1, 0, 0, 0, 0, 0]);
    const fridayClose = (d: string) => utc(d).getUTCDay() === 5;
    expect(bits(calendarCanonical(dates, "weekly", 1, fridayClose))).toEqual([0, 0, 0, 1, 0, 0, 0, 0, 1]);
  });
  it("BTC monthly and weekly masks vs Date-based rules; last bar only when its period is complete", () => {
    const { dates } = BTC;
    const n = dates.length;
    expect(dates[n - 1]).toBe("2022-11-15");
    const monthRef = dates.map((d, i) => (i < n - 1 ? (d.slice(0, 7) !== dates[i + 1].slice(0, 7) ? 1 : 0) : 0));
    expect(bits(calendarCanonical(dates, "monthly"))).toEqual(monthRef);
    const weekRef = dates.map((d, i) => (utc(d).getUTCDay() === 0 ? 1 : 0)); // crypto has every day
    expect(bits(calendarCanonical(dates, "weekly"))).toEqual(weekRef);
    const upToOct = dates.slice(0, dates.indexOf("2022-10-31") + 1);
    const m = calendarCanonical(upToOct, "monthly");
    expect(m[m.length - 1]).toBe(1);
    expect(bits(calendarCanonical(upToOct, "monthly", 1, () => false)).at(-1)).toBe(0);
    // months in the data: Sep 2014 … Oct 2022 complete = 98
    expect(bits(calendarCanonical(dates, "monthly")).reduce((a, b) => a + b, 0)).toBe(98);
  });
  it("aligned multiples give identical masks (3M≡1Q, 6M≡2Q, 9M≡3Q, 12M≡1Y) and yearly ends on Dec 31", () => {
    const { dates } = BTC;
    const mask = (s: CalendarScheme, k: number) => bits(calendarCanonical(dates, s, k));
    expect(mask("monthly", 3)).toEqual(mask("quarterly", 1));
    expect(mask("monthly", 6)).toEqual(mask("quarterly", 2));
    expect(mask("monthly", 9)).toEqual(mask("quarterly", 3));
    expect(mask("monthly", 12)).toEqual(mask("yearly", 1));
    const y = mask("yearly", 1);
    expect(dates.filter((_, i) => y[i])).toEqual(["2014-12-31", "2015-12-31", "2016-12-31", "2017-12-31", "2018-12-31", "2019-12-31", "2020-12-31", "2021-12-31"]);
    const y2 = mask("yearly", 2);
    expect(dates.filter((_, i) => y2[i])).toEqual(["2015-12-31", "2017-12-31", "2019-12-31", "2021-12-31"]);
  });
  it("SPY weekly with holidays and multi-day closures vs a Date-based week key", () => {
    const { dates } = SPY;
    const weekKey = (d: string) => {
      const t = utc(d);
      return t.getTime() / 86_400_000 - ((t.getUTCDay() + 6) % 7); // the Monday of that week
    };
    const ref = dates.map((d, i) => (i < dates.length - 1 && weekKey(d) !== weekKey(dates[i + 1]) ? 1 : 0));
    expect(bits(calendarCanonical(dates, "weekly", 1, () => false))).toEqual(ref);
    const sept2001 = dates.indexOf("2001-09-10");
    expect(dates[sept2001 + 1]).toBe("2001-09-17");
    expect(calendarCanonical(dates, "weekly")[sept2001]).toBe(1); // Monday is the week's last bar
  });
  it("calendar tf EMA on BTC vs independent reference", () => {
    for (const [s, k, p] of [["monthly", 1, 3], ["weekly", 2, 10], ["quarterly", 1, 4], ["yearly", 1, 3]] as const) {
      const r = calendarTfEma(BTC.dates, BTC.close, s, k, p);
      expect(bits(r.roll)).toEqual(bits(r.canonical).map((v) => 1 - v));
      expectClose(`${k}${s}/${p}`, r.ema, refTfEma(BTC.close, r.canonical, p));
      expect(tfEma(`${k}${s[0].toUpperCase()}`, BTC.dates, BTC.close, p).ema).toEqual(r.ema);
    }
    expect(tfEma("7D", BTC.dates, BTC.close, 5).ema).toEqual(tradingDayTfEma(BTC.close, 7, 5).ema);
  });
  it("rejects unsorted or malformed input", () => {
    expect(() => calendarCanonical(["2024-01-02", "2024-01-01"], "weekly")).toThrow(RangeError);
    expect(() => calendarCanonical(["2024-01-01", "2024-01-01"], "monthly")).toThrow(RangeError);
    expect(() => calendarCanonical(["2024-01-01"], "monthly", 0)).toThrow(RangeError);
    expect(() => calendarTfEma(["2024-01-01"], [1, 2], "monthly", 1, 2)).toThrow(RangeError);
    expect(() => tfEmaFromCanonical([1, 2], new Uint8Array(1), 2)).toThrow(RangeError);
    expect(calendarCanonical([], "weekly").length).toBe(0);
  });
});
