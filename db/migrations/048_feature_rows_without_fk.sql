-- The feature tables hold rows derived from prices_daily, written only by the stage jobs for an asset they
-- have just read from assets (and whose prices_daily rows, themselves checked against assets, keep that asset
-- from being deleted); ema_multi_tf's timeframes are checked against the code's catalogue (a test holds
-- dim_timeframe equal to it) when a worker builds its stage processor. Their foreign keys re-checked that for
-- every row: a backfill writes ≈ 120,000 rows per asset, and each key cost ≈ 11 µs of PostgreSQL CPU per row,
-- about half of what the 100-asset backfill's largest statement spent (ema_multi_tf: 2.05 s → 1.12 s per asset).
ALTER TABLE ema_daily DROP CONSTRAINT ema_daily_asset_id_fkey;
ALTER TABLE ema_multi_tf DROP CONSTRAINT ema_multi_tf_asset_id_fkey, DROP CONSTRAINT ema_multi_tf_tf_fkey;
ALTER TABLE returns_daily DROP CONSTRAINT returns_daily_asset_id_fkey;
ALTER TABLE vol_daily DROP CONSTRAINT vol_daily_asset_id_fkey;
ALTER TABLE ta_daily DROP CONSTRAINT ta_daily_asset_id_fkey;
ALTER TABLE daily_features DROP CONSTRAINT daily_features_asset_id_fkey;
