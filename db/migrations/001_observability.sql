-- Observability lives in PostgreSQL so that spans, metrics, workflow runs and alerts can be queried with SQL.
CREATE SCHEMA IF NOT EXISTS observability;

CREATE TABLE observability.spans (
  trace_id        char(32)    NOT NULL,
  span_id         char(16)    NOT NULL,
  parent_span_id  char(16),
  name            text        NOT NULL,
  service         text        NOT NULL,
  kind            text        NOT NULL,
  start_time      timestamptz NOT NULL,
  end_time        timestamptz NOT NULL,
  duration_ms     double precision NOT NULL,
  status_code     text        NOT NULL CHECK (status_code IN ('UNSET', 'OK', 'ERROR')),
  status_message  text,
  attributes      jsonb       NOT NULL DEFAULT '{}',
  events          jsonb       NOT NULL DEFAULT '[]',
  -- The key makes a re-exported batch a no-op instead of duplicate rows.
  PRIMARY KEY (trace_id, span_id)
);
CREATE INDEX spans_start_idx ON observability.spans (start_time DESC);
CREATE INDEX spans_name_idx ON observability.spans (name, start_time DESC);

CREATE TABLE observability.metrics (
  id           bigint GENERATED ALWAYS AS IDENTITY,
  recorded_at  timestamptz NOT NULL DEFAULT now(),
  metric_name  text        NOT NULL,
  metric_type  text        NOT NULL CHECK (metric_type IN ('counter', 'gauge', 'histogram')),
  value        double precision NOT NULL,
  component    text,
  labels       jsonb       NOT NULL DEFAULT '{}',
  PRIMARY KEY (recorded_at, id)
) PARTITION BY RANGE (recorded_at);
CREATE INDEX metrics_name_time_idx ON observability.metrics (metric_name, recorded_at DESC);

-- Monthly partitions from the current month to `ahead` months later; idempotent. Called by migrations and
-- by the scheduled maintenance job, so nobody ever creates a partition by hand.
CREATE FUNCTION observability.ensure_metrics_partitions(ahead integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  m date := date_trunc('month', now())::date;
  created integer := 0;
  part text;
BEGIN
  FOR i IN 0..ahead LOOP
    part := 'metrics_' || to_char(m, 'YYYY_MM');
    IF to_regclass('observability.' || part) IS NULL THEN
      EXECUTE format('CREATE TABLE observability.%I PARTITION OF observability.metrics FOR VALUES FROM (%L) TO (%L)',
                     part, m, (m + interval '1 month')::date);
      created := created + 1;
    END IF;
    m := (m + interval '1 month')::date;
  END LOOP;
  RETURN created;
END $$;

-- Drops monthly partitions that end before now() - retention; returns how many were dropped.
CREATE FUNCTION observability.drop_metrics_partitions(retention interval) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  r record;
  dropped integer := 0;
BEGIN
  FOR r IN
    SELECT c.relname
    FROM pg_inherits i
    JOIN pg_class c ON c.oid = i.inhrelid
    JOIN pg_class p ON p.oid = i.inhparent
    JOIN pg_namespace n ON n.oid = p.relnamespace
    WHERE n.nspname = 'observability' AND p.relname = 'metrics' AND c.relname ~ '^metrics_\d{4}_\d{2}$'
  LOOP
    IF (to_date(substr(r.relname, 9), 'YYYY_MM') + interval '1 month') < now() - retention THEN
      EXECUTE format('DROP TABLE observability.%I', r.relname);
      dropped := dropped + 1;
    END IF;
  END LOOP;
  RETURN dropped;
END $$;

SELECT observability.ensure_metrics_partitions(2);

CREATE TABLE observability.workflow_state (
  workflow_id     text        PRIMARY KEY,
  correlation_id  varchar(64) NOT NULL,
  workflow_type   varchar(50) NOT NULL,
  current_phase   varchar(50) NOT NULL,
  status          varchar(20) NOT NULL CHECK (status IN ('pending', 'running', 'completed', 'partial', 'failed', 'cancelled')),
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  metadata        jsonb       NOT NULL DEFAULT '{}'
);
CREATE INDEX workflow_correlation_idx ON observability.workflow_state (correlation_id);
CREATE INDEX workflow_status_idx ON observability.workflow_state (status, current_phase);
CREATE INDEX workflow_created_idx ON observability.workflow_state (created_at DESC);

-- Every transition of a run, so a correlation id yields the run's history, not only its last state.
CREATE TABLE observability.workflow_events (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  workflow_id  text        NOT NULL REFERENCES observability.workflow_state (workflow_id) ON DELETE CASCADE,
  phase        varchar(50) NOT NULL,
  status       varchar(20) NOT NULL,
  recorded_at  timestamptz NOT NULL DEFAULT now(),
  metadata     jsonb       NOT NULL DEFAULT '{}'
);
CREATE INDEX workflow_events_idx ON observability.workflow_events (workflow_id, recorded_at);

CREATE TABLE observability.alerts (
  alert_id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  alert_key          text        NOT NULL,
  alert_type         text        NOT NULL,
  severity           text        NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
  component          text        NOT NULL,
  title              text        NOT NULL,
  message            text        NOT NULL,
  threshold_value    double precision,
  current_value      double precision,
  triggered_at       timestamptz NOT NULL DEFAULT now(),
  last_seen_at       timestamptz NOT NULL DEFAULT now(),
  repeat_count       integer     NOT NULL DEFAULT 1,
  resolved_at        timestamptz,
  acknowledged_at    timestamptz,
  acknowledged_by    text,
  delivery_status    text        NOT NULL DEFAULT 'pending' CHECK (delivery_status IN ('pending', 'delivered', 'failed', 'disabled')),
  delivery_attempts  integer     NOT NULL DEFAULT 0,
  next_delivery_at   timestamptz NOT NULL DEFAULT now(),
  last_delivery_error text,
  metadata           jsonb       NOT NULL DEFAULT '{}'
);
-- At most one open alert per key: repeats update it instead of piling up.
CREATE UNIQUE INDEX alerts_open_key_idx ON observability.alerts (alert_key) WHERE resolved_at IS NULL;
CREATE INDEX alerts_delivery_idx ON observability.alerts (next_delivery_at) WHERE delivery_status = 'pending';
CREATE INDEX alerts_triggered_idx ON observability.alerts (triggered_at DESC);
