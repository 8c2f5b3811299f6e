// What each stage job computes, as pure functions of an asset's full bar history, derived from the indicator
// declarations (catalog.ts). Each returns named columns of the bar count; the stage processor writes the dirty
// window. Computing the whole history (O(n), about a millisecond per asset) is what keeps recursive indicators
// (EMA, Wilder) identical between an incremental refresh and a full recompute.
import { indicatorsOf, type FeatureColumn } from "./catalog.ts";
import { EMA_PERIODS, emaDerivatives } from "./ema.ts";
import type { ComputeOptions, IndicatorStage, Ohlc } from "./indicator.ts";
import { outlierFlagsIQR, outlierFlagsZScore, rollingZScore } from "./stats.ts";
import { calendarPeriodEnd, parseTfLabel, tfCanonical, tfEmaFromCanonical, type CalendarScheme } from "./timeframe.ts";

export interface StageBars extends Ohlc {
  dates: string[];
  open: Float64Array;
  high: Float64Array;
  low: Float64Array;
  close: Float64Array;
}

export type Columns = Record<string, Float64Array | Uint8Array>;

/** The stages with a wide table: one column per declared indicator column. */
export type TableStage = Exclude<IndicatorStage, "ema">;

/** Every declared indicator of `stage`, in catalogue order. */
export function indicatorStage(stage: IndicatorStage, bars: Ohlc, opts: ComputeOptions): Columns {
  return Object.assign({}, ...indicatorsOf(stage).map((i) => i.compute(bars, opts))) as Columns;
}

// Only the volatility job carries the asset's periodsPerYear (compute/tasks.ts); the catalogue test
// checks that no other stage's columns depend on it, and NaN makes a misplaced annualisation throw.
const NOT_ANNUALISED: ComputeOptions = Object.freeze({ periodsPerYear: NaN });

// The table stages read prices only (no dates: their compute thread is not sent the days as text).
export const returnsStage = (bars: Ohlc): Columns => indicatorStage("returns", bars, NOT_ANNUALISED);
export const volatilityStage = (bars: Ohlc, periodsPerYear: number): Columns => indicatorStage("volatility", bars, { periodsPerYear });
export const taStage = (bars: Ohlc): Columns => indicatorStage("ta", bars, NOT_ANNUALISED);

/** Rolling window of the feature store's z-scores (one equity year). */
const ZSCORE_WINDOW = 252;

const warmUp = (stage: IndicatorStage) => Math.max(...indicatorsOf(stage).map((i) => i.lookback));

/**
 * Bars a refresh rewrites before the watermark: the longest warm-up among the stage's indicators (a revised
 * bar changes at most this far forward); the feature store's is its z-score window.
 */
export const STAGE_LOOKBACK = Object.freeze({
  ema: warmUp("ema"),
  returns: warmUp("returns"),
  volatility: warmUp("volatility"),
  ta: warmUp("ta"),
  features: ZSCORE_WINDOW,
});

/**
 * Stored rows a new bar can change, for stages that declare it: every earlier row is a function of the bars
 * up to it (EMA and Wilder recursions, rolling windows, backward differences). The ema stage's last stored
 * row can change: a calendar timeframe closes that bar's period only once the next bar opens a new one (its
 * canonical flag, roll flag and EMA); its ema_daily rows cannot. A refresh over unchanged stored inputs
 * computes such a stage once and sends its rows from this many before the stored end; the features stage
 * (whole-history IQR flags) is compared with the computation over the stored bars. The features stage's
 * fingerprint relies on these bounds too (its joined inputs are functions of the bars).
 */
export const STAGE_REVISES: Readonly<Partial<Record<keyof typeof STAGE_LOOKBACK, number>>> = Object.freeze({ ema: 1, returns: 0, volatility: 0, ta: 0 });

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

/** ema_daily rows (one per period, the feature store's ema_<N> with their derivatives) and the timeframe EMAs. */
export function emaStage(bars: StageBars, timeframes: readonly string[], session: "CRYPTO" | "EQUITY"): EmaStageOutput {
  const e = indicatorStage("ema", bars, NOT_ANNUALISED);
  const daily = EMA_PERIODS.map((period) => {
    const v = e[`ema_${period}`] as Float64Array;
    return { period, cols: { ema: v, ...emaDerivatives(bars.close, v) } };
  });
  const multiTf = timeframes.flatMap((tf) => {
    const parsed = parseTfLabel(tf);
    const periodEnd = parsed.kind === "calendar" && session === "EQUITY" ? equityPeriodEnd(parsed.scheme, parsed.multiple) : undefined;
    // One canonical mask per timeframe for all its periods (finding it is most of a calendar timeframe's cost).
    const canonical = tfCanonical(tf, bars.dates, periodEnd);
    return EMA_PERIODS.map((period) => {
      const r = tfEmaFromCanonical(bars.close, canonical, period);
      return { tf, period, cols: { ema: r.ema, ...emaDerivatives(bars.close, r.ema), roll: r.roll, is_canonical: r.canonical } };
    });
  });
  return { daily, multiTf };
}

const OUTLIER_SOURCES = ["ret_1_log", "vol_parkinson"] as const satisfies readonly FeatureColumn[];
const ZSCORE_SOURCES = ["ret_1_log", "vol_parkinson_20", "rsi_14", "atr_14"] as const satisfies readonly FeatureColumn[];

/** The feature-store columns featureExtras reads (all a features job sends its compute thread). */
export const FEATURE_EXTRA_SOURCES = Object.freeze([...new Set([...OUTLIER_SOURCES, ...ZSCORE_SOURCES])]);

/** The feature store's columns beyond the indicators: outlier flags (booleans) and z-scores. */
export const OUTLIER_COLUMNS = Object.freeze([...OUTLIER_SOURCES.flatMap((c) => [`${c}_outlier_z`, `${c}_outlier_iqr`]), "is_outlier"]);
export const ZSCORE_COLUMNS = Object.freeze(ZSCORE_SOURCES.map((c) => `${c}_z${ZSCORE_WINDOW}`));

/**
 * Outlier flags (values kept; z-score 4σ, IQR 1.5×; is_outlier = any z-score flag) and rolling z-scores of
 * the feature store's key columns.
 */
export function featureExtras(cols: Record<(typeof OUTLIER_SOURCES)[number] | (typeof ZSCORE_SOURCES)[number], Float64Array>): Columns {
  const out: Columns = {};
  const any = new Uint8Array(cols[OUTLIER_SOURCES[0]].length);
  for (const c of OUTLIER_SOURCES) {
    const z = outlierFlagsZScore(cols[c], 4);
    out[`${c}_outlier_z`] = z;
    out[`${c}_outlier_iqr`] = outlierFlagsIQR(cols[c], 1.5);
    for (let i = 0; i < any.length; i++) any[i] |= z[i];
  }
  out.is_outlier = any;
  for (const c of ZSCORE_SOURCES) out[`${c}_z${ZSCORE_WINDOW}`] = rollingZScore(cols[c], ZSCORE_WINDOW);
  return out;
}
