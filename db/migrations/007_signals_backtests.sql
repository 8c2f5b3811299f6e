-- Signal outputs (one table per type) with the position lifecycle, and backtest results.
CREATE TABLE signals_ema_crossover (
  asset_id              integer NOT NULL REFERENCES assets (asset_id),
  signal_id             integer NOT NULL REFERENCES dim_signals (signal_id),
  entry_ts              date    NOT NULL,
  direction             text    NOT NULL CHECK (direction IN ('LONG')),
  signal_state          text    NOT NULL CHECK (signal_state IN ('OPEN', 'CLOSED')),
  entry_price           double precision NOT NULL,
  exit_ts               date,
  exit_price            double precision,
  feature_version_hash  char(16) NOT NULL,
  feature_snapshot      jsonb   NOT NULL,
  PRIMARY KEY (asset_id, signal_id, entry_ts)
);
CREATE TABLE signals_rsi_mean_revert (LIKE signals_ema_crossover INCLUDING ALL);
CREATE TABLE signals_atr_breakout (
  LIKE signals_ema_crossover INCLUDING ALL,
  breakout_type  text NOT NULL CHECK (breakout_type IN ('channel_break', 'atr_expansion', 'both')),
  channel_high   double precision,
  channel_low    double precision
);

CREATE TABLE backtest_runs (
  run_id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  -- The job that produced the run: a retried job replaces its run instead of adding one.
  job_id                text    NOT NULL UNIQUE,
  asset_id              integer NOT NULL REFERENCES assets (asset_id),
  signal_type           text    NOT NULL,
  signal_id             integer REFERENCES dim_signals (signal_id),
  params                jsonb   NOT NULL,
  params_hash           char(16) NOT NULL,
  feature_version_hash  char(16) NOT NULL,
  period_start          date    NOT NULL,
  period_end            date    NOT NULL,
  fee_bps               double precision NOT NULL,
  slippage_bps          double precision NOT NULL,
  periods_per_year      integer NOT NULL,
  -- Headline metrics; NaN / Infinity are stored as such (a zero denominator is not a zero).
  total_return          double precision NOT NULL,
  cagr                  double precision NOT NULL,
  sharpe                double precision NOT NULL,
  sortino               double precision NOT NULL,
  max_drawdown          double precision NOT NULL,
  calmar                double precision NOT NULL,
  win_rate              double precision NOT NULL,
  profit_factor         double precision NOT NULL,
  trades                integer NOT NULL,
  exposure              double precision NOT NULL,
  open_position         jsonb,
  created_at            timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX backtest_runs_lookup_idx ON backtest_runs (asset_id, signal_type, params_hash, created_at DESC);

CREATE TABLE backtest_trades (
  run_id       bigint  NOT NULL REFERENCES backtest_runs (run_id) ON DELETE CASCADE,
  trade_id     integer NOT NULL,
  entry_ts     date    NOT NULL,
  exit_ts      date    NOT NULL,
  entry_price  double precision NOT NULL,
  exit_price   double precision NOT NULL,
  units        double precision NOT NULL,
  pnl          double precision NOT NULL,
  ret          double precision NOT NULL,
  PRIMARY KEY (run_id, trade_id)
);

CREATE TABLE backtest_metrics (
  run_id       bigint NOT NULL REFERENCES backtest_runs (run_id) ON DELETE CASCADE,
  metric_name  text   NOT NULL,
  value        double precision,
  text_value   text,
  PRIMARY KEY (run_id, metric_name)
);

-- Equity curve with drawdown, for the dashboard.
CREATE TABLE backtest_equity (
  run_id    bigint NOT NULL REFERENCES backtest_runs (run_id) ON DELETE CASCADE,
  ts        date   NOT NULL,
  equity    double precision NOT NULL,
  drawdown  double precision NOT NULL,
  PRIMARY KEY (run_id, ts)
);

CREATE TABLE sweeps (
  sweep_id              text PRIMARY KEY,
  asset_id              integer NOT NULL REFERENCES assets (asset_id),
  strategy              text    NOT NULL,
  -- {"fast": [lo, hi, step], "slow": [lo, hi, step]}
  grid                  jsonb   NOT NULL,
  fee_bps               double precision NOT NULL,
  combos                integer NOT NULL,
  chunks                integer NOT NULL,
  status                text    NOT NULL CHECK (status IN ('completed', 'partial')),
  failed_chunks         integer NOT NULL,
  top                   jsonb,
  finished_at           timestamptz NOT NULL DEFAULT now()
);

-- The full grid, for the fast × slow → Sharpe heatmap. Chunks write here while the sweep runs; the
-- ranking job records the sweep itself when they are done.
CREATE TABLE sweep_results (
  sweep_id      text    NOT NULL,
  fast          integer NOT NULL,
  slow          integer NOT NULL,
  sharpe        double precision NOT NULL,
  total_return  double precision NOT NULL,
  max_drawdown  double precision NOT NULL,
  trades        integer NOT NULL,
  PRIMARY KEY (sweep_id, fast, slow)
);
