-- Strategy types as rows instead of a CHECK list on dim_signals: a new type is one INSERT in the migration that
-- creates its signals_<type> table, not a rewrite of the list of every type. dim_signals still refuses a
-- configuration naming a type no migration added; compute/signals/catalog.ts declares what each type does.
CREATE TABLE dim_signal_types (
  signal_type  text PRIMARY KEY
);

INSERT INTO dim_signal_types (signal_type) VALUES ('ema_crossover'), ('rsi_mean_revert'), ('atr_breakout');

ALTER TABLE dim_signals
  DROP CONSTRAINT dim_signals_signal_type_check,
  ADD CONSTRAINT dim_signals_signal_type_fkey FOREIGN KEY (signal_type) REFERENCES dim_signal_types (signal_type);
