// The synthetic assets of `npm run bench:fleet` (bench/fleet-assets.ts): deterministic, distinct, valid OHLC
// on the right calendar, and accepted by the importer's own row validation.
import { describe, expect, it } from "vitest";
import { PriceCsvValidator } from "../../db/import/parse-prices.ts";
import { FLEET_LAST_DAY, fleetCalendar, fleetSymbol, formatPrice, generateAsset, spotCheckIndices, toCsv, type FleetAsset } from "../../bench/fleet-assets.ts";
import { symbol as symbolSchema } from "../../queues/kind.ts";

const opts = { years: 2, lastDay: FLEET_LAST_DAY };
const DAY_MS = 86_400_000;
const dayNumber = (d: string) => Date.parse(`${d}T00:00:00Z`) / DAY_MS;
const dow = (d: string) => new Date(`${d}T00:00:00Z`).getUTCDay();

function validate(a: FleetAsset) {
  const v = new PriceCsvValidator(10);
  for (const line of toCsv(a.bars).split("\n")) v.push(line);
  v.end();
  return { rows: v.rows, problems: v.problems };
}

describe("fleet assets", () => {
  it("same seed and index give identical output; other assets and seeds differ", () => {
    const a = generateAsset(1, 7, opts);
    expect(generateAsset(1, 7, opts)).toEqual(a);
    expect(toCsv(generateAsset(1, 7, opts).bars)).toBe(toCsv(a.bars));
    const closes = (x: FleetAsset) => x.bars.map((b) => b.close).join();
    expect(closes(generateAsset(2, 7, opts))).not.toBe(closes(a));
    // Same session (both odd): only the generator differs.
    expect(closes(generateAsset(1, 9, opts))).not.toBe(closes(a));
    const distinct = new Set(Array.from({ length: 50 }, (_, i) => generateAsset(1, i, opts).bars[0]!.open));
    expect(distinct.size).toBe(50);
  });

  it("OHLC invariants hold on the values the importer reads; volume is positive and varies", () => {
    for (let i = 0; i < 40; i++) {
      const a = generateAsset(1, i, opts);
      let prevClose: number | undefined;
      let maxGap = 0;
      // Collected, not asserted per bar: one expect per asset keeps the test fast and the failure readable.
      const bad: string[] = [];
      for (const b of a.bars) {
        const [o, h, l, c, v] = [b.open, b.high, b.low, b.close, b.volume].map(Number) as [number, number, number, number, number];
        if (!(o > 0 && h > 0 && l > 0 && c > 0 && v > 0 && h >= Math.max(o, c) && l <= Math.min(o, c))) bad.push(JSON.stringify(b));
        if (prevClose !== undefined) maxGap = Math.max(maxGap, Math.abs(Math.log(o / prevClose)));
        prevClose = c;
      }
      expect(bad).toEqual([]);
      // Open near the previous close: a gap, not a jump (≤ 6 σ of the largest gap volatility).
      expect(maxGap).toBeLessThan(a.session === "CRYPTO" ? 0.05 : 0.2);
      expect(new Set(a.bars.map((b) => b.volume)).size).toBeGreaterThan(a.bars.length / 2);
    }
  });

  it("crypto bars come every calendar day, equity bars every weekday, both ending on the last day", () => {
    const c = generateAsset(1, 0, { years: 10, lastDay: FLEET_LAST_DAY });
    const e = generateAsset(1, 1, { years: 10, lastDay: FLEET_LAST_DAY });
    expect([c.session, c.periodsPerYear, e.session, e.periodsPerYear]).toEqual(["CRYPTO", 365, "EQUITY", 252]);
    expect(c.bars.at(-1)!.date).toBe(FLEET_LAST_DAY);
    expect(e.bars.at(-1)!.date).toBe(FLEET_LAST_DAY);
    expect(c.bars[0]!.date).toBe("2016-01-01");
    expect(c.bars.length).toBe(dayNumber(FLEET_LAST_DAY) - dayNumber("2016-01-01") + 1);
    const cd = c.bars.map((b) => dayNumber(b.date));
    expect(cd.every((d, i) => i === 0 || d === cd[i - 1]! + 1)).toBe(true);
    expect(e.bars.every((b) => dow(b.date) !== 0 && dow(b.date) !== 6)).toBe(true);
    // Consecutive weekdays: one day apart, or Friday → Monday.
    expect(e.bars.every((b, i) => i === 0 || dayNumber(b.date) - dayNumber(e.bars[i - 1]!.date) === (dow(b.date) === 1 ? 3 : 1))).toBe(true);
    expect(e.bars.length).toBe(fleetCalendar("CRYPTO", 10, FLEET_LAST_DAY).filter((d) => dow(d) !== 0 && dow(d) !== 6).length);
    // The day before the last is a session day of both calendars: the backfill's as-of.
    expect(c.bars.at(-2)!.date).toBe(e.bars.at(-2)!.date);
    expect(() => fleetCalendar("EQUITY", 1, "2025-12-28")).toThrow(/weekday/);
  });

  it("every generated asset passes the importer's validation (PriceCsvValidator)", () => {
    for (let i = 0; i < 60; i++) {
      const a = generateAsset(1, i, opts);
      expect(symbolSchema.safeParse(a.symbol).success).toBe(true);
      expect(validate(a)).toEqual({ rows: a.bars.length, problems: [] });
    }
    for (const i of [0, 123, 250, 377, 499]) {
      const a = generateAsset(1, i, { years: 10, lastDay: FLEET_LAST_DAY });
      expect(validate(a)).toEqual({ rows: a.bars.length, problems: [] });
    }
    // The appended day alone is a valid file too.
    const one = generateAsset(1, 5, opts).bars.slice(-1);
    const v = new PriceCsvValidator();
    for (const line of toCsv(one).split("\n")) v.push(line);
    v.end();
    expect([v.rows, v.problemCount]).toEqual([1, 0]);
  });

  it("prices are plain decimals with 8 significant digits; symbols and spot-check picks", () => {
    expect(formatPrice(12345.678912)).toBe("12345.679");
    expect(formatPrice(0.000123456789)).toBe("0.00012345679");
    expect(formatPrice(5)).toBe("5.0000000");
    expect(() => formatPrice(0)).toThrow();
    expect([fleetSymbol(0), fleetSymbol(123)]).toEqual(["SYN0000-C", "SYN0123-E"]);
    expect(spotCheckIndices(500)).toEqual([0, 123, 250, 377, 499]);
    expect(spotCheckIndices(8)).toEqual([0, 2, 4, 5, 7]);
    expect(spotCheckIndices(1)).toEqual([0]);
  });
});
