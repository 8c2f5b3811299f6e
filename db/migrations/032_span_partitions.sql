-- Spans in daily partitions (UTC days), so retention drops whole tables instead of deleting rows, and each
-- row costs PostgreSQL less: the only indexes left are the ones the run page reads (measured: npm run
-- bench:spans). The old table's rows move over; nothing is lost.
ALTER TABLE observability.spans RENAME TO spans_031;
ALTER TABLE observability.spans_031 RENAME CONSTRAINT spans_pkey TO spans_031_pkey;

CREATE TABLE observability.spans (
  -- Hex ids compared byte-wise whatever the database's locale: every row's key goes through these.
  trace_id        text COLLATE "C" NOT NULL,
  span_id         text COLLATE "C" NOT NULL,
  parent_span_id  text COLLATE "C",
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
  -- A re-exported span has the same start time, so it hits the same partition and this key: a batch written
  -- twice stays one set of rows. Leading with the trace id serves the trace waterfall in start order.
  PRIMARY KEY (trace_id, start_time, span_id)
) PARTITION BY RANGE (start_time);

-- Stragglers (a clock ahead, spans exported long after an outage) land here instead of failing their whole
-- batch; a day's partition takes its rows over when it is created, retention deletes the expired ones.
CREATE TABLE observability.spans_default PARTITION OF observability.spans DEFAULT;

-- The run page's fallback lookup (traceIdOfJob: the span of a daily-refresh run's root job, named after
-- RUN_SPAN_NAME in apps/web/dashboard/runs-view.ts). Partial, so the other spans cost nothing to index.
CREATE INDEX spans_run_job_idx ON observability.spans ((attributes->>'job.id')) WHERE name = 'flow run';

-- The partition of one UTC day, created if missing (true) with that day's rows taken out of the default
-- partition, which must not overlap it.
CREATE FUNCTION observability.create_span_partition(day date) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
  part text := 'spans_' || to_char(day, 'YYYY_MM_DD');
  lo timestamptz := day::timestamp AT TIME ZONE 'UTC';
  hi timestamptz := (day + 1)::timestamp AT TIME ZONE 'UTC';
BEGIN
  IF to_regclass('observability.' || part) IS NOT NULL THEN
    RETURN false;
  END IF;
  -- A writer routing a span of this day to the default partition waits until the day has its own;
  -- otherwise it could slip in between the move and the attach, and the attach would fail.
  LOCK TABLE observability.spans_default IN ACCESS EXCLUSIVE MODE;
  EXECUTE format('CREATE TABLE observability.%I (LIKE observability.spans INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', part);
  EXECUTE format('WITH moved AS (DELETE FROM observability.spans_default WHERE start_time >= $1 AND start_time < $2 RETURNING *)
                  INSERT INTO observability.%I SELECT * FROM moved', part) USING lo, hi;
  EXECUTE format('ALTER TABLE observability.spans ATTACH PARTITION observability.%I FOR VALUES FROM (%L) TO (%L)', part, lo, hi);
  RETURN true;
END $$;

-- Daily partitions from yesterday (UTC) to `ahead_days` days after today; idempotent. Called by this
-- migration and the hourly maintenance job, so nobody ever creates a partition by hand.
CREATE FUNCTION observability.ensure_span_partitions(ahead_days integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  today date := (now() AT TIME ZONE 'UTC')::date;
  created integer := 0;
BEGIN
  -- Two callers at once (a migration and the job) would both see a day missing and one would fail.
  PERFORM pg_advisory_xact_lock(hashtext('observability.spans partitions'));
  FOR i IN -1..ahead_days LOOP
    IF observability.create_span_partition(today + i) THEN
      created := created + 1;
    END IF;
  END LOOP;
  RETURN created;
END $$;

-- Drops the daily partitions whose whole day ended before now() - retention and deletes the default
-- partition's rows older than that. Never today's or a later partition, whatever the retention.
CREATE FUNCTION observability.drop_span_partitions(retention interval, OUT dropped integer, OUT deleted bigint)
LANGUAGE plpgsql AS $$
DECLARE
  cutoff timestamptz := least(now() - retention, date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC');
  r record;
BEGIN
  PERFORM pg_advisory_xact_lock(hashtext('observability.spans partitions'));
  dropped := 0;
  FOR r IN
    SELECT c.relname
    FROM pg_inherits i
    JOIN pg_class c ON c.oid = i.inhrelid
    JOIN pg_class p ON p.oid = i.inhparent
    JOIN pg_namespace n ON n.oid = p.relnamespace
    WHERE n.nspname = 'observability' AND p.relname = 'spans' AND c.relname ~ '^spans_\d{4}_\d{2}_\d{2}$'
  LOOP
    IF (to_date(substr(r.relname, 7), 'YYYY_MM_DD') + 1)::timestamp AT TIME ZONE 'UTC' <= cutoff THEN
      EXECUTE format('DROP TABLE observability.%I', r.relname);
      dropped := dropped + 1;
    END IF;
  END LOOP;
  DELETE FROM observability.spans_default WHERE start_time < cutoff;
  GET DIAGNOSTICS deleted = ROW_COUNT;
END $$;

-- Every day the old rows cover gets its partition, then the rows move (none reach the default partition).
SELECT observability.create_span_partition(day)
FROM (SELECT DISTINCT (start_time AT TIME ZONE 'UTC')::date AS day FROM observability.spans_031) d;
SELECT observability.ensure_span_partitions(7);
INSERT INTO observability.spans
SELECT trace_id, span_id, parent_span_id, name, service, kind, start_time, end_time, duration_ms, status_code, status_message, attributes, events
FROM observability.spans_031;
DROP TABLE observability.spans_031;
