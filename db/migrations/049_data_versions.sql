-- Versions of each asset's data: a statement that inserts, updates or deletes an asset's bars (prices_daily)
-- or feature rows (daily_features) bumps that asset's prices_version or features_version, in its own
-- transaction, whoever runs it. Workers cache what they read by these versions (db/repos/read-cache.ts), so
-- nothing cached outlives a change.
ALTER TABLE assets
  ADD COLUMN prices_version bigint NOT NULL DEFAULT 0,
  ADD COLUMN features_version bigint NOT NULL DEFAULT 0;

CREATE FUNCTION asset_data_version_bump() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  prices int := (TG_TABLE_NAME = 'prices_daily')::int;
  features int := (TG_TABLE_NAME = 'daily_features')::int;
BEGIN
  IF TG_OP = 'TRUNCATE' THEN
    UPDATE assets SET prices_version = prices_version + prices, features_version = features_version + features;
  ELSIF TG_OP = 'INSERT' THEN
    UPDATE assets SET prices_version = prices_version + prices, features_version = features_version + features
      WHERE asset_id IN (SELECT asset_id FROM new_rows);
  ELSIF TG_OP = 'UPDATE' THEN
    UPDATE assets SET prices_version = prices_version + prices, features_version = features_version + features
      WHERE asset_id IN (SELECT asset_id FROM new_rows UNION SELECT asset_id FROM old_rows);
  ELSE
    UPDATE assets SET prices_version = prices_version + prices, features_version = features_version + features
      WHERE asset_id IN (SELECT asset_id FROM old_rows);
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER prices_version_insert AFTER INSERT ON prices_daily
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION asset_data_version_bump();
CREATE TRIGGER prices_version_update AFTER UPDATE ON prices_daily
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION asset_data_version_bump();
CREATE TRIGGER prices_version_delete AFTER DELETE ON prices_daily
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION asset_data_version_bump();
CREATE TRIGGER prices_version_truncate AFTER TRUNCATE ON prices_daily
  FOR EACH STATEMENT EXECUTE FUNCTION asset_data_version_bump();

CREATE TRIGGER features_version_insert AFTER INSERT ON daily_features
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION asset_data_version_bump();
CREATE TRIGGER features_version_update AFTER UPDATE ON daily_features
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION asset_data_version_bump();
CREATE TRIGGER features_version_delete AFTER DELETE ON daily_features
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION asset_data_version_bump();
CREATE TRIGGER features_version_truncate AFTER TRUNCATE ON daily_features
  FOR EACH STATEMENT EXECUTE FUNCTION asset_data_version_bump();
