// What each stage computes, as pure functions of an asset's full bar history. Each returns named columns
// of the bar count; the stage processor writes the dirty window. Computing the whole history (O(n), about a
// millisecond per asset) is what keeps recursive indicators (EMA, Wilder) identical between an incremental
// refresh and a full recompute.
import { atr } from "./atr.ts";
import { adx } from "./adx.ts";
import { bollingerBands } from "./bollinger.ts";
import { ema, emaDerivatives } from "./ema.ts";
import { EMA_PERIODS, RETURN_LOOKBACKS } from "./index.ts";
import { macd } from "./macd.ts";
import { returns } from "./returns.ts";
import { rsi } from "./rsi.ts";
import { outlierFlagsIQR, outlierFlagsZScore, rollingZScore } from "./stats.ts";
import { stochastic } from "./stochastic.ts";
import { calendarPeriodEnd, parseTfLabel, tfEma, type CalendarScheme } from "./timeframe.ts";
import { rangeVariances, rollingAnnualisedVol } from "./volatility.ts";

export interface StageBars {
  dates: string[];
  open: Float64Array;
  high: Float64Array;
  low: Float64Array;
  close: Float64Array;
}

export type Columns = Record<string, Float64Array | Uint8Array>;

/** Bars a refresh rewrites before the watermark (a revised bar changes at most this far forward). */
export const STAGE_LOOKBACK = Object.freeze({ ema: 200, returns: 365, volatility: 20, ta: 34, features: 252 });

export interface EmaStageOutput {
  daily: Array<{ period: number; cols: Columns }>;
  multiTf: Array<{ tf: string; period: number; cols: Columns }>;
}

/** Equity sessions close a calendar period on its last weekday: only weekend days may remain after it. */
function equityPeriodEnd(scheme: CalendarScheme, multiple: number): (date: string) => boolean {
  const ends = calendarPeriodEnd(scheme, multiple);
  return (date) => {
    let t = Date.parse(`${date}T00:00:00Z`);
    for (let i = 0; i < 7; i++) {
      const d = new Date(t).toISOString().slice(0, 10);
      if (ends(d)) return true;
      t += 86_400_000;
      const dow = new Date(t).getUTCDay();
      if (dow !== 0 && dow !== 6) return false;
    }
    return false;
  };
}

export function emaStage(bars: StageBars, timeframes: readonly string[], session: "CRYPTO" | "EQUITY"): EmaStageOutput {
  const daily = EMA_PERIODS.map((period) => {
    const e = ema(bars.close, period);
    return { period, cols: { ema: e, ...emaDerivatives(bars.close, e) } };
  });
  const multiTf = timeframes.flatMap((tf) => {
    const parsed = parseTfLabel(tf);
    const periodEnd = parsed.kind === "calendar" && session === "EQUITY" ? equityPeriodEnd(parsed.scheme, parsed.multiple) : undefined;
    return EMA_PERIODS.map((period) => {
      const r = tfEma(tf, bars.dates, bars.close, period, periodEnd);
      return { tf, period, cols: { ema: r.ema, ...emaDerivatives(bars.close, r.ema), roll: r.roll, is_canonical: r.canonical } };
    });
  });
  return { daily, multiTf };
}

export function returnsStage(bars: StageBars): Columns {
  const out: Columns = {};
  for (const k of RETURN_LOOKBACKS) {
    const r = returns(bars.close, k);
    out[`ret_${k}_pct`] = r.pct;
    out[`ret_${k}_log`] = r.log;
  }
  return out;
}

export function volatilityStage(bars: StageBars, periodsPerYear: number): Columns {
  const v = rangeVariances(bars.open, bars.high, bars.low, bars.close);
  return {
    vol_parkinson: v.parkinson,
    vol_gk: v.garmanKlass,
    vol_rs: v.rogersSatchell,
    vol_parkinson_20: rollingAnnualisedVol(v.parkinson, periodsPerYear),
    vol_gk_20: rollingAnnualisedVol(v.garmanKlass, periodsPerYear),
    vol_rs_20: rollingAnnualisedVol(v.rogersSatchell, periodsPerYear),
    atr_14: atr(bars.high, bars.low, bars.close, 14),
  };
}

export function taStage(bars: StageBars): Columns {
  const m = macd(bars.close);
  const s = stochastic(bars.high, bars.low, bars.close);
  const b = bollingerBands(bars.close);
  const a = adx(bars.high, bars.low, bars.close);
  return {
    rsi_14: rsi(bars.close, 14),
    macd: m.macd,
    macd_signal: m.signal,
    macd_hist: m.hist,
    stoch_k: s.k,
    stoch_d: s.d,
    bb_mid: b.mid,
    bb_upper: b.upper,
    bb_lower: b.lower,
    adx_14: a.adx,
    plus_di_14: a.plusDi,
    minus_di_14: a.minusDi,
  };
}

/** Outlier flags (values kept) and rolling 252-bar z-scores of the feature store's key columns. */
export function featureExtras(cols: { ret_1_log: Float64Array; vol_parkinson: Float64Array; vol_parkinson_20: Float64Array; rsi_14: Float64Array; atr_14: Float64Array }) {
  const rz = outlierFlagsZScore(cols.ret_1_log, 4);
  const ri = outlierFlagsIQR(cols.ret_1_log, 1.5);
  const vz = outlierFlagsZScore(cols.vol_parkinson, 4);
  const vi = outlierFlagsIQR(cols.vol_parkinson, 1.5);
  const n = cols.ret_1_log.length;
  const any = new Uint8Array(n);
  for (let i = 0; i < n; i++) any[i] = rz[i]! | vz[i]!;
  return {
    ret_1_log_outlier_z: rz,
    ret_1_log_outlier_iqr: ri,
    vol_parkinson_outlier_z: vz,
    vol_parkinson_outlier_iqr: vi,
    is_outlier: any,
    ret_1_log_z252: rollingZScore(cols.ret_1_log, 252),
    vol_parkinson_20_z252: rollingZScore(cols.vol_parkinson_20, 252),
    rsi_14_z252: rollingZScore(cols.rsi_14, 252),
    atr_14_z252: rollingZScore(cols.atr_14, 252),
  };
}
