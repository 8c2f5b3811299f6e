import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TIMEFRAMES } from "../../compute/indicators/timeframe.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/db.ts";

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db.drop());

describe("time model tables", () => {
  it("dim_timeframe holds exactly the 199 timeframes of the compute library", async () => {
    const { rows } = await db.pool.query(
      "SELECT tf_label, tf_days::float8 AS tf_days, is_calendar, is_canonical, calendar_scheme, tf_days_min::float8 AS tf_days_min, tf_days_max::float8 AS tf_days_max FROM dim_timeframe ORDER BY id",
    );
    expect(rows).toHaveLength(199);
    expect(rows).toEqual(TIMEFRAMES.map((t) => ({ ...t })));
    expect(rows.filter((r) => r.is_calendar).map((r) => r.tf_label)).toEqual(["1W", "2W", "3W", "4W", "1M", "2M", "3M", "6M", "9M", "12M", "1Q", "2Q", "3Q", "1Y", "2Y", "3Y"]);
  });

  it("dim_sessions describes the two sessions", async () => {
    const { rows } = await db.pool.query("SELECT session_type, trading_days_per_week, periods_per_year FROM dim_sessions ORDER BY 1");
    expect(rows).toEqual([
      { session_type: "CRYPTO", trading_days_per_week: 7, periods_per_year: 365 },
      { session_type: "EQUITY", trading_days_per_week: 5, periods_per_year: 252 },
    ]);
  });
});
