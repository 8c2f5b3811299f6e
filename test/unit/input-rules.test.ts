// What user input may look like: symbols (one shared rule for the CLIs, payloads and the import) and the
// numbers of a price CSV (plain decimals only).
import { describe, expect, it } from "vitest";
import { PriceCsvValidator } from "../../db/import/parse-prices.ts";
import { symbol } from "../../queues/kind.ts";

describe("symbols", () => {
  it("accepts tickers of letters, digits and . _ - that start with a letter or digit", () => {
    for (const s of ["BTC-USD", "SPY", "NASDAQ", "BRK.B", "eth_usd", "7203.T", "A", "X".repeat(24)]) expect(symbol.safeParse(s).success, s).toBe(true);
  });

  it("refuses leading punctuation, other characters, and more than 24 characters", () => {
    for (const s of ["=cmd", "-rf", ".hidden", "_x", "^GSPC", "BTC USD", "a/b", "a;b", "a$b", "", "X".repeat(25), "ÄPFEL"]) {
      const r = symbol.safeParse(s);
      expect(r.success, s).toBe(false);
      expect(r.error?.issues[0]?.message).toBe("must start with a letter or digit and be at most 24 letters, digits, . _ -");
    }
  });
});

describe("price CSV numbers", () => {
  const check = (...rows: string[]) => {
    const v = new PriceCsvValidator();
    for (const line of ["date,open,high,low,close,volume", ...rows]) v.push(line);
    v.end();
    return v;
  };

  it("accepts plain decimals", () => {
    const v = check("2022-01-01,10,12,9,11,123", "2022-01-02,10.5,12.25,9.75,11.125,123.45", "2022-01-03,010,12,9,11,0");
    expect(v.problems).toEqual([]);
    expect(v.rows).toBe(3);
  });

  it("refuses hex, exponents, explicit plus signs, spaces and empty fields, naming the field and the text", () => {
    const bad = ["0x10", "1e3", "+5", " 7", "1 000", "", ".5", "5.", "1,5", "Infinity", "NaN", "1_000"];
    for (const text of bad) {
      for (const [i, field] of ["open", "volume"].entries()) {
        const fields = ["2022-01-01", "10", "12", "9", "11", "100"];
        fields[i === 0 ? 1 : 5] = text;
        const v = check(fields.join(","));
        expect(v.rows, `${field} ${JSON.stringify(text)}`).toBe(0);
        expect(v.problems[0]?.reason, `${field} ${JSON.stringify(text)}`).toContain(
          text === "1,5" ? "expected 6 fields, got 7" : `${field} ${JSON.stringify(text)} is not a plain decimal`,
        );
      }
    }
  });

  it("still reports a negative price or volume by its value", () => {
    const v = check("2022-01-01,-1,12,9,11,100", "2022-01-02,10,12,9,11,-5");
    expect(v.problems.map((p) => p.reason)).toEqual([expect.stringContaining("open must be positive (got -1)"), "volume must be ≥ 0 (got -5)"]);
  });
});
