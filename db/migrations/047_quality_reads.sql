-- The quality stage's reads, per asset and day, without scanning what does not concern the asset.
--
-- The equity calendar becomes a table kept by triggers on prices_daily: as a view (a DISTINCT over every
-- equity bar of the fleet) each equity asset's check scanned the whole fleet's prices, ≈ 0.3 s of
-- PostgreSQL at 500 assets × 10 years, so the daily checks grew with the square of the fleet. The view keeps
-- its name and columns; the table holds the same days: a day is in it while an equity asset has a bar on it.
CREATE TABLE equity_calendar (ts date PRIMARY KEY);

INSERT INTO equity_calendar (ts)
  SELECT DISTINCT p.ts FROM prices_daily p JOIN assets a USING (asset_id) WHERE a.session_type = 'EQUITY';

-- Statement triggers with transition tables: an import's upsert adds its days in one statement.
CREATE FUNCTION equity_calendar_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    INSERT INTO equity_calendar (ts)
      SELECT DISTINCT n.ts FROM new_rows n JOIN assets a USING (asset_id) WHERE a.session_type = 'EQUITY'
      ON CONFLICT (ts) DO NOTHING;
  END IF;
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    DELETE FROM equity_calendar c WHERE c.ts IN (SELECT o.ts FROM old_rows o)
      AND NOT EXISTS (SELECT 1 FROM prices_daily p JOIN assets a USING (asset_id) WHERE p.ts = c.ts AND a.session_type = 'EQUITY');
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER equity_calendar_insert AFTER INSERT ON prices_daily
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION equity_calendar_sync();
CREATE TRIGGER equity_calendar_update AFTER UPDATE ON prices_daily
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION equity_calendar_sync();
CREATE TRIGGER equity_calendar_delete AFTER DELETE ON prices_daily
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION equity_calendar_sync();

-- An asset changing session (never done by the product) moves its days in or out: rebuilt whole.
CREATE FUNCTION equity_calendar_rebuild() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM equity_calendar;
  INSERT INTO equity_calendar (ts)
    SELECT DISTINCT p.ts FROM prices_daily p JOIN assets a USING (asset_id) WHERE a.session_type = 'EQUITY';
  RETURN NULL;
END $$;

CREATE TRIGGER equity_calendar_session AFTER UPDATE OF session_type ON assets
  FOR EACH STATEMENT EXECUTE FUNCTION equity_calendar_rebuild();
CREATE TRIGGER equity_calendar_truncate AFTER TRUNCATE ON prices_daily
  FOR EACH STATEMENT EXECUTE FUNCTION equity_calendar_rebuild();

CREATE OR REPLACE VIEW equity_trading_days AS SELECT ts FROM equity_calendar;

-- The canonical bars of a multi-timeframe series (their alignment check): the primary key leads with the
-- day, so finding one series' canonical rows read every timeframe and period of the asset's history.
CREATE INDEX ema_multi_tf_canonical_idx ON ema_multi_tf (asset_id, tf, period, ts) WHERE is_canonical;
