-- Alert delivery state (ops/alerts): observability.alerts is the outbox. What the chats were last told
-- (notified_*) decides the next message (new, repeat with a count, escalation, resolution); `revision`
-- counts changes that need a message, so a delivery that raced a change leaves the alert pending.
ALTER TABLE observability.alerts
  -- The rule's level index (ordered mild → severe), e.g. which of the 50/80/90 % budget marks was crossed.
  ADD COLUMN level              smallint    NOT NULL DEFAULT 0,
  ADD COLUMN cooldown_s         integer     NOT NULL DEFAULT 900 CHECK (cooldown_s > 0),
  ADD COLUMN revision           integer     NOT NULL DEFAULT 0,
  ADD COLUMN notified_at        timestamptz,
  ADD COLUMN notified_severity  text        CHECK (notified_severity IN ('info', 'warning', 'critical')),
  ADD COLUMN notified_level     smallint,
  ADD COLUMN notified_repeat_count integer  NOT NULL DEFAULT 0,
  -- Chats that already received the message being delivered, so a retry after a partial failure skips them.
  ADD COLUMN delivered_chats    text[]      NOT NULL DEFAULT '{}';

-- Resolution sweeps look up the open alerts of one rule.
CREATE INDEX alerts_open_type_idx ON observability.alerts (alert_type) WHERE resolved_at IS NULL;
