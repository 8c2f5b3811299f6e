-- Walk-forward optimisation (compute/research/walk-forward.ts): each window job stores its row as it
-- finishes; the root job stores the walk-forward's summary (stitched OOS metrics, curve and WFE) when every
-- window is done. Both are upserted, so a retried or resumed job replaces its row.
CREATE TABLE walk_forwards (
  walk_forward_id           text PRIMARY KEY,
  asset_id                  integer NOT NULL REFERENCES assets (asset_id),
  strategy                  text    NOT NULL,
  -- {"fast": [lo, hi, step], "slow": [lo, hi, step]}
  grid                      jsonb   NOT NULL,
  train                     integer NOT NULL CHECK (train >= 2),
  test                      integer NOT NULL CHECK (test >= 2),
  fee_bps                   double precision NOT NULL,
  windows                   integer NOT NULL,
  -- computeMetrics of the stitched OOS curve (trade fields over the windows' closed trades).
  total_return              double precision NOT NULL,
  cagr                      double precision NOT NULL,
  sharpe                    double precision NOT NULL,
  sortino                   double precision NOT NULL,
  max_drawdown              double precision NOT NULL,
  max_drawdown_peak_date    date,
  max_drawdown_trough_date  date,
  calmar                    double precision NOT NULL,
  var_95                    double precision NOT NULL,
  cvar_95                   double precision NOT NULL,
  win_rate                  double precision NOT NULL,
  profit_factor             double precision NOT NULL,
  trades                    integer NOT NULL,
  exposure                  double precision NOT NULL,
  n_returns                 integer NOT NULL,
  -- Means over the windows of the chosen combination's annualised Sharpe, and WFE = mean OOS / mean IS.
  mean_is_sharpe            double precision NOT NULL,
  mean_oos_sharpe           double precision NOT NULL,
  wfe                       double precision NOT NULL,
  -- The stitched OOS curve: 1.0 at the first test bar, then one point per window return.
  curve_dates               date[] NOT NULL,
  curve_equity              double precision[] NOT NULL,
  created_at                timestamptz NOT NULL DEFAULT now(),
  completed_at              timestamptz NOT NULL DEFAULT now()
);

-- One row per window k; bar indices are over the asset's whole series (0 = its first bar).
CREATE TABLE walk_forward_windows (
  walk_forward_id    text    NOT NULL,
  k                  integer NOT NULL CHECK (k >= 0),
  train_start        integer NOT NULL,
  train_end          integer NOT NULL,
  train_start_date   date    NOT NULL,
  train_end_date     date    NOT NULL,
  test_start         integer NOT NULL,
  test_end           integer NOT NULL,
  test_start_date    date    NOT NULL,
  test_end_date      date    NOT NULL,
  fast               integer NOT NULL,
  slow               integer NOT NULL,
  is_sharpe          double precision NOT NULL,
  oos_sharpe         double precision NOT NULL,
  oos_total_return   double precision NOT NULL,
  oos_trades         integer NOT NULL,
  open_at_end        boolean NOT NULL,
  -- The test backtest's returns E[t]/E[t−1] − 1, t = test_start+1..test_end, its closed trades' pnl and
  -- its bars held: what the root job stitches.
  returns            double precision[] NOT NULL,
  trade_pnl          double precision[] NOT NULL,
  bars_in_position   integer NOT NULL,
  computed_at        timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (walk_forward_id, k),
  CHECK (train_end = test_start - 1 AND test_end >= test_start)
);
