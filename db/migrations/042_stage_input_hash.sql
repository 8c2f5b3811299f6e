-- The fingerprint of the inputs a stage's stored rows were computed from (its bars, or the feature store's
-- joined columns, up to the watermark, with the settings that shape the output). A refresh whose inputs up to
-- the watermark hash the same recomputes the earlier rows as they are stored, so it sends PostgreSQL only the
-- rows that differ; NULL (rows written before this migration, or by jobs that do not track it) falls back
-- to the lookback window.
ALTER TABLE feature_state ADD COLUMN input_hash text;
