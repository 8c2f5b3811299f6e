// The quality stage's feature health (db/repos/quality.ts featureHealth) against its definition by row number,
// on rows with NULLs and outliers either side of every warm-up boundary, for days that cut the rows short.
import { afterAll, beforeAll, expect, it } from "vitest";
import { upsertAsset } from "../../db/repos/assets.ts";
import { featureHealth } from "../../db/repos/quality.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/db.ts";

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db.drop();
});

const COLUMNS = ["ema_5", "ema_9", "ema_10", "ema_21", "ema_50", "ema_100", "ema_200", "ret_1_pct", "ret_365_pct", "vol_parkinson_20",
  "atr_14", "rsi_14", "macd", "macd_signal", "stoch_k", "stoch_d", "bb_mid", "adx_14"];

// The definition: i is the row's position among the asset's rows up to the day.
const REFERENCE = `WITH f AS (SELECT *, row_number() OVER (ORDER BY ts) - 1 AS i FROM daily_features WHERE asset_id = $1 AND ts <= $2)
  SELECT count(*)::int AS rows, (count(*) FILTER (WHERE i >= 365))::int AS checked,
         coalesce(sum(CASE WHEN i >= 365 THEN num_nulls(${COLUMNS.join(", ")}) END), 0)::int AS nulls,
         (count(*) FILTER (WHERE (i >= 4 AND ema_5 IS NULL) OR (i >= 8 AND ema_9 IS NULL) OR (i >= 9 AND ema_10 IS NULL)
            OR (i >= 20 AND ema_21 IS NULL) OR (i >= 49 AND ema_50 IS NULL) OR (i >= 99 AND ema_100 IS NULL)
            OR (i >= 199 AND ema_200 IS NULL)))::int AS null_emas,
         (count(*) FILTER (WHERE is_outlier))::int AS outliers
  FROM f`;

it("counts what the row-number definition counts, for every cut of the history", async () => {
  const asset = await upsertAsset(db.pool, "HEALTH-A", "CRYPTO");
  const empty = await upsertAsset(db.pool, "HEALTH-B", "CRYPTO");
  const n = 420;
  const day = (i: number) => new Date(Date.UTC(2020, 0, 1) + i * 86_400_000).toISOString().slice(0, 10);
  // Row i: each EMA NULL through its warm-up and on its first row past it; other columns NULL on a pattern past row 350.
  const warmUp: Record<string, number> = { ema_5: 4, ema_9: 8, ema_10: 9, ema_21: 20, ema_50: 49, ema_100: 99, ema_200: 199 };
  const value = (c: string, i: number) => {
    if (c in warmUp) return i <= warmUp[c]! ? null : i;
    return i > 350 && (i * 7 + c.length) % 11 === 0 ? null : i;
  };
  await db.pool.query(
    `INSERT INTO daily_features (asset_id, ts, asset_class, open, high, low, close, volume, is_outlier, ${COLUMNS.join(", ")})
     SELECT $1, d, $2, 1, 1, 1, 1, 1, o, ${COLUMNS.map((_, k) => `(v::float8[])[${k + 1}]`).join(", ")}
     FROM unnest($3::date[], $4::boolean[], $5::text[]) AS x (d, o, v)`,
    [asset.asset_id, asset.asset_class, Array.from({ length: n }, (_, i) => day(i)), Array.from({ length: n }, (_, i) => i % 37 === 5),
      Array.from({ length: n }, (_, i) => `{${COLUMNS.map((c) => value(c, i) ?? "NULL").join(",")}}`)],
  );
  for (const cut of [-1, 0, 3, 4, 5, 8, 9, 100, 199, 200, 201, 364, 365, 366, 380, n - 1, n + 5]) {
    const asOf = day(cut);
    const { rows: [want] } = await db.pool.query(REFERENCE, [asset.asset_id, asOf]);
    const got = await featureHealth(db.pool, asset.asset_id, asOf);
    expect(got, `as of row ${cut}`).toEqual({ rows: want.rows, nullRatio: want.checked ? want.nulls / (want.checked * 18) : 0, nullEmas: want.null_emas, outliers: want.outliers });
  }
  const all = await featureHealth(db.pool, asset.asset_id, day(n));
  expect(all.nullEmas).toBe(7);
  expect(all.nullRatio).toBeGreaterThan(0);
  expect(await featureHealth(db.pool, empty.asset_id, day(n))).toEqual({ rows: 0, nullRatio: 0, nullEmas: 0, outliers: 0 });
});
