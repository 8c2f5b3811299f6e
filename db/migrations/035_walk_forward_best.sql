-- The full-period best of a walk-forward (compute/backtest/walk-forward.ts, hindsightBest): the grid
-- combination with the highest annualised Sharpe backtested over the same bars as the stitched OOS curve
-- (the first test window's first bar to the last test bar), chosen with hindsight on that range; the
-- dashboard plots its in-sample curve against the stitched one. Stored by the root job; NULL on rows
-- recorded before this migration (until the walk-forward's root job runs again).
ALTER TABLE walk_forwards
  ADD COLUMN best_fast          integer,
  ADD COLUMN best_slow          integer,
  ADD COLUMN best_sharpe        double precision,
  ADD COLUMN best_total_return  double precision,
  -- One point per bar of the range (the stitched curve skips the later windows' first bars), 1.0 at the first.
  ADD COLUMN best_curve_dates   date[],
  ADD COLUMN best_curve_equity  double precision[];
