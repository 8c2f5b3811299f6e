/**
 * Daily feature-store row builder: every indicator of this library over one asset's daily bars.
 * Pure and synchronous (no I/O); all outputs are Float64Array of the input length with NaN warm-ups.
 *
 * FEATURE_COLUMNS is the contract with the signal/backtest side, which hashes columns in exactly this order
 * (feature_version_hash): append new columns at the end, never reorder or rename.
 * `vol_parkinson|gk|rs` are per-bar *variances* (log-return², see volatility.ts); the `_20` columns are the
 * annualised volatilities sqrt(P · mean of 20 variances) with P = opts.periodsPerYear.
 * Log returns and range variances use cached logs of the prices (one Math.log per price instead of one per
 * ratio); the relative error this adds is < 1e-10 (see returns.ts, volatility.ts), far below the precision of
 * the prices themselves.
 */
import { emaInto } from "./ema.ts";
import { RETURN_LOOKBACKS, logPrices, returnsInto } from "./returns.ts";
import { rangeVariances, rollingAnnualisedVol } from "./volatility.ts";
import { atr } from "./atr.ts";
import { rsi } from "./rsi.ts";
import { macd } from "./macd.ts";
import { stochastic } from "./stochastic.ts";
import { bollingerBands } from "./bollinger.ts";
import { adx } from "./adx.ts";

export { RETURN_LOOKBACKS };

export const EMA_PERIODS: readonly number[] = Object.freeze([5, 9, 10, 21, 50, 100, 200]);

export const FEATURE_COLUMNS = Object.freeze([
  "ema_5", "ema_9", "ema_10", "ema_21", "ema_50", "ema_100", "ema_200",
  "ret_1_pct", "ret_1_log", "ret_2_pct", "ret_2_log", "ret_3_pct", "ret_3_log", "ret_5_pct", "ret_5_log",
  "ret_7_pct", "ret_7_log", "ret_10_pct", "ret_10_log", "ret_14_pct", "ret_14_log", "ret_21_pct", "ret_21_log",
  "ret_30_pct", "ret_30_log", "ret_60_pct", "ret_60_log", "ret_90_pct", "ret_90_log", "ret_180_pct", "ret_180_log",
  "ret_365_pct", "ret_365_log",
  "vol_parkinson", "vol_gk", "vol_rs", "vol_parkinson_20", "vol_gk_20", "vol_rs_20",
  "atr_14", "rsi_14", "macd", "macd_signal", "macd_hist", "stoch_k", "stoch_d",
  "bb_mid", "bb_upper", "bb_lower", "adx_14", "plus_di_14", "minus_di_14",
] as const);

export type FeatureColumn = (typeof FEATURE_COLUMNS)[number];
export type FeatureColumns = Record<FeatureColumn, Float64Array>;

export interface DailyBars {
  open: Float64Array;
  high: Float64Array;
  low: Float64Array;
  close: Float64Array;
  volume: Float64Array;
}

export interface ComputeOptions {
  /** annualisation factor for the rolling vols: 365 for 24/7 crypto, 252 for equities */
  periodsPerYear: number;
}

export function computeAllIndicators(bars: DailyBars, opts: ComputeOptions): FeatureColumns {
  const { open, high, low, close } = bars;
  const n = close.length;
  if (open.length !== n || high.length !== n || low.length !== n || bars.volume.length !== n) {
    throw new RangeError("computeAllIndicators: OHLCV columns have different lengths");
  }
  const out = {} as FeatureColumns;
  for (const p of EMA_PERIODS) {
    const e = new Float64Array(n);
    emaInto(close, p, e);
    out[`ema_${p}` as FeatureColumn] = e;
  }
  const logClose = logPrices(close);
  for (const k of RETURN_LOOKBACKS) {
    const pct = new Float64Array(n);
    const log = new Float64Array(n);
    returnsInto(close, k, pct, log, logClose);
    out[`ret_${k}_pct` as FeatureColumn] = pct;
    out[`ret_${k}_log` as FeatureColumn] = log;
  }
  const P = opts.periodsPerYear;
  const rv = rangeVariances(open, high, low, close, logClose);
  out.vol_parkinson = rv.parkinson;
  out.vol_gk = rv.garmanKlass;
  out.vol_rs = rv.rogersSatchell;
  out.vol_parkinson_20 = rollingAnnualisedVol(out.vol_parkinson, P, 20);
  out.vol_gk_20 = rollingAnnualisedVol(out.vol_gk, P, 20);
  out.vol_rs_20 = rollingAnnualisedVol(out.vol_rs, P, 20);
  out.atr_14 = atr(high, low, close, 14);
  out.rsi_14 = rsi(close, 14);
  const m = macd(close, 12, 26, 9);
  out.macd = m.macd;
  out.macd_signal = m.signal;
  out.macd_hist = m.hist;
  const st = stochastic(high, low, close, 14, 3);
  out.stoch_k = st.k;
  out.stoch_d = st.d;
  const bb = bollingerBands(close, 20, 2);
  out.bb_mid = bb.mid;
  out.bb_upper = bb.upper;
  out.bb_lower = bb.lower;
  const dx = adx(high, low, close, 14);
  out.adx_14 = dx.adx;
  out.plus_di_14 = dx.plusDi;
  out.minus_di_14 = dx.minusDi;
  return out;
}

export { ema, emaInto, emaDerivatives } from "./ema.ts";
export { returns, returnsInto, logPrices } from "./returns.ts";
export { parkinsonVariance, garmanKlassVariance, rogersSatchellVariance, rangeVariances, rollingAnnualisedVol } from "./volatility.ts";
export { trueRange, atr, atrFromTrueRange } from "./atr.ts";
export { rsi } from "./rsi.ts";
export { macd } from "./macd.ts";
export { stochastic } from "./stochastic.ts";
export { bollinger, bollingerBands } from "./bollinger.ts";
export { adx } from "./adx.ts";
export { rollingMeanStd, rollingZScore, outlierFlagsZScore, outlierFlagsIQR, quantileLinear } from "./stats.ts";
export {
  TIMEFRAMES, TIMEFRAME_COUNT, buildTimeframes, parseTfLabel, tfEma, tradingDayTfEma, calendarTfEma,
  tradingDayCanonical, calendarCanonical, calendarPeriodEnd, tfEmaFromCanonical,
} from "./timeframe.ts";
