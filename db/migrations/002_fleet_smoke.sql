-- The smoke job's effect: one row per job id, so a retried or duplicated run writes it once.
CREATE TABLE fleet_smoke (
  job_id        text        PRIMARY KEY,
  message       text        NOT NULL,
  processed_at  timestamptz NOT NULL DEFAULT now(),
  worker_pid    integer     NOT NULL,
  runs          integer     NOT NULL DEFAULT 1
);
