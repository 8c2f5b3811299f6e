// Names of the per-job metrics in observability.metrics (durations in ms): written by the workers' hooks,
// read by the dashboard and the alert rules.
export const JOB_METRICS = Object.freeze({
  wait: "job_wait_ms",
  run: "job_run_ms",
  attempts: "job_attempts",
  outcomes: "job_outcomes",
  rows: "rows_written",
  llmTokens: "llm_tokens",
  llmLatency: "llm_latency_ms",
});
