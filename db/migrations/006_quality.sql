-- Data quality per check (seeds 000/003), and hourly/daily rollups refreshed by a maintenance job (the seed
-- used Timescale continuous aggregates; here they are plain tables upserted from quality_metrics).
CREATE TABLE quality_metrics (
  id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  -- The stage job that ran the check: a retried job replaces its row instead of adding one.
  job_id              text        NOT NULL UNIQUE,
  symbol              text        NOT NULL,
  as_of               date        NOT NULL,
  checked_at          timestamptz NOT NULL DEFAULT now(),
  overall_score       double precision NOT NULL CHECK (overall_score BETWEEN 0 AND 100),
  freshness_score     double precision NOT NULL,
  completeness_score  double precision NOT NULL,
  outlier_score       double precision NOT NULL,
  outliers_detected   integer     NOT NULL,
  status              text        NOT NULL CHECK (status IN ('excellent', 'good', 'fair', 'poor')),
  issue_count         integer     NOT NULL,
  issues              jsonb       NOT NULL,
  gaps                integer     NOT NULL,
  expected_rows       integer     NOT NULL,
  actual_rows         integer     NOT NULL,
  rowcount_deviation  double precision NOT NULL,
  null_ratio          double precision NOT NULL,
  null_ema_count      integer     NOT NULL,
  misaligned_bars     integer     NOT NULL,
  stale_seconds       double precision NOT NULL,
  check_duration_ms   double precision NOT NULL
);
CREATE INDEX quality_symbol_time_idx ON quality_metrics (symbol, checked_at DESC);
CREATE INDEX quality_status_idx ON quality_metrics (status, checked_at DESC);

CREATE TABLE quality_metrics_hourly (
  bucket         timestamptz NOT NULL,
  symbol         text        NOT NULL,
  checks         integer     NOT NULL,
  avg_score      double precision NOT NULL,
  min_score      double precision NOT NULL,
  max_score      double precision NOT NULL,
  total_issues   integer     NOT NULL,
  PRIMARY KEY (bucket, symbol)
);

CREATE TABLE quality_metrics_daily (
  bucket         date        NOT NULL,
  symbol         text        NOT NULL,
  checks         integer     NOT NULL,
  avg_score      double precision NOT NULL,
  min_score      double precision NOT NULL,
  max_score      double precision NOT NULL,
  total_issues   integer     NOT NULL,
  pct_excellent  double precision NOT NULL,
  pct_good       double precision NOT NULL,
  pct_fair       double precision NOT NULL,
  pct_poor       double precision NOT NULL,
  PRIMARY KEY (bucket, symbol)
);
