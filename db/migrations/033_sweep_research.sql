-- Research statistics of parameter sweeps: the Deflated Sharpe Ratio of the best combination and the
-- Probability of Backtest Overfitting (compute/research/). Each chunk stores what its combinations contribute
-- (so the ranking job never needs the N × T returns matrix); the ranking job stores the sweep's result.
-- Rows written before this migration keep NULLs, and a sweep missing them has its research skipped.
ALTER TABLE sweep_results
  ADD COLUMN n_returns   integer,
  -- Per-bar Sharpe (not annualised), skewness and non-excess kurtosis of the combination's T returns.
  ADD COLUMN sr          double precision,
  ADD COLUMN g3          double precision,
  ADD COLUMN g4          double precision,
  -- The S block means and centred sums of squares of its last S·⌊T/S⌋ returns; NULL when ⌊T/S⌋ < 2.
  ADD COLUMN block_mean  double precision[],
  ADD COLUMN block_m2    double precision[];

-- One row per ranked sweep; a re-run ranking replaces it. When the statistics cannot be computed
-- (N < 2, ⌊T/S⌋ < 2, failed chunks) only s and skipped_reason are set.
CREATE TABLE sweep_research (
  sweep_id            text PRIMARY KEY REFERENCES sweeps (sweep_id) ON DELETE CASCADE,
  -- S, the PBO blocks the sweep was run with.
  s                   integer NOT NULL,
  skipped_reason      text,
  n                   integer,
  t                   integer,
  -- DSR: V = variance of the N Sharpe ratios, SR0 = expected maximum of N unskilled trials, the best
  -- combination (first in grid order tied with the maximum SR), its SR, g3, g4 and DSR.
  v                   double precision,
  sr0                 double precision,
  sr_star             double precision,
  g3                  double precision,
  g4                  double precision,
  dsr                 double precision,
  best_fast           integer,
  best_slow           integer,
  -- PBO by CSCV: L returns per block, C(S, S/2) splits, the λ histogram (21 edges, 20 counts), and n*'s
  -- IS and OOS Sharpe per split (the OOS-vs-IS scatter) with their least-squares line.
  block_length        integer,
  splits              integer,
  pbo                 double precision,
  lambda_hist_edges   double precision[],
  lambda_hist_counts  integer[],
  mean_oos_sharpe     double precision,
  slope               double precision,
  intercept           double precision,
  is_sharpe           double precision[],
  oos_sharpe          double precision[],
  computed_at         timestamptz NOT NULL DEFAULT now(),
  CHECK ((skipped_reason IS NULL) = (dsr IS NOT NULL AND pbo IS NOT NULL))
);
