// The declarations and everything derived from them agree: feature-store columns, stage tables, refresh
// lookbacks and the one-call computeAllIndicators for indicators; the type lookup, the signals tables and the
// generic run (inputs read or derived, exactly those hashed) for strategies.
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { computeAllIndicators, FEATURE_COLUMNS, INDICATORS, indicatorsOf, stageColumns } from "../../compute/indicators/catalog.ts";
import { EMA, EMA_PERIODS } from "../../compute/indicators/ema.ts";
import type { Indicator, IndicatorStage } from "../../compute/indicators/indicator.ts";
import { emaStage, returnsStage, STAGE_LOOKBACK, STAGE_REVISES, taStage, volatilityStage, type Columns, type StageBars } from "../../compute/indicators/stages.ts";
import { tfEma, TIMEFRAMES } from "../../compute/indicators/timeframe.ts";
import { configureStrategy, STRATEGIES, strategyOf } from "../../compute/signals/catalog.ts";
import { featureVersionHash } from "../../compute/signals/feature-hash.ts";
import { defineStrategy, positionRows, runFeatureHash, type Features } from "../../compute/signals/strategy.ts";
import { DAILY_FEATURES, EMA_DAILY, PRICE_COLUMNS, STAGE_TABLES } from "../../db/repos/feature-tables.ts";
import { SIGNAL_TABLES, STORE_COLUMNS } from "../../db/repos/signals.ts";
import { sameBits } from "../helpers/bits.ts";

function sample(file: string): StageBars {
  const rows = readFileSync(resolve(import.meta.dirname, "../../data", file), "utf8").trim().split("\n").slice(1).map((l) => l.split(","));
  const col = (i: number) => Float64Array.from(rows, (r) => Number(r[i]));
  return { dates: rows.map((r) => r[0]!), open: col(1), high: col(2), low: col(3), close: col(4) };
}
const BTC = sample("BTC-USD_daily.csv");
const STAGES: IndicatorStage[] = ["ema", "returns", "volatility", "ta"];
const DECLARED: readonly Indicator[] = INDICATORS;

const firstDefined = (a: ArrayLike<number>) => Array.prototype.findIndex.call(a, (x: number) => !Number.isNaN(x));

describe("indicator declarations", () => {
  it("names and columns are unique; the feature columns are every declaration's, in catalogue order", () => {
    expect(new Set(INDICATORS.map((i) => i.name)).size).toBe(INDICATORS.length);
    expect(FEATURE_COLUMNS).toEqual(INDICATORS.flatMap((i) => i.columns));
    expect(new Set(FEATURE_COLUMNS).size).toBe(FEATURE_COLUMNS.length);
    for (const i of INDICATORS) expect(STAGES, i.name).toContain(i.stage);
  });

  it("every column lands in a table: the wide stage tables and daily_features carry exactly the declared ones", () => {
    for (const [stage, spec] of Object.entries(STAGE_TABLES)) expect(spec.values.map(([c]) => c), stage).toEqual(stageColumns(stage as IndicatorStage));
    // The ema stage's long table keeps one row per period: the EMA is the only indicator it can hold.
    expect(indicatorsOf("ema")).toEqual([EMA]);
    expect(EMA_DAILY.keys.map(([c]) => c)).toContain("period");
    expect(EMA.columns).toEqual(EMA_PERIODS.map((p) => `ema_${p}`));
    const store = DAILY_FEATURES.values.map(([c]) => c);
    expect(store.filter((c) => FEATURE_COLUMNS.includes(c as never))).toEqual(FEATURE_COLUMNS);
    expect([...STORE_COLUMNS].slice(0, PRICE_COLUMNS.length + FEATURE_COLUMNS.length)).toEqual([...PRICE_COLUMNS, ...FEATURE_COLUMNS]);
  });

  it("each stage's refresh lookback is its longest declared warm-up, and every warm-up covers the real one", () => {
    for (const stage of STAGES) expect(STAGE_LOOKBACK[stage], stage).toBe(Math.max(...indicatorsOf(stage).map((i) => i.lookback)));
    expect(STAGE_LOOKBACK).toEqual({ ema: 200, returns: 365, volatility: 20, ta: 34, features: 252 });
    for (const i of DECLARED) {
      const out = i.compute(BTC, { periodsPerYear: 365 });
      expect(Object.keys(out), i.name).toEqual(i.columns);
      for (const c of i.columns) {
        expect(out[c], c).toBeInstanceOf(Float64Array);
        expect(out[c].length, c).toBe(BTC.close.length);
        expect(firstDefined(out[c]), c).toBeLessThanOrEqual(i.lookback);
      }
    }
  });

  it("computeAllIndicators is the stage jobs' output, bit for bit (one assembly)", () => {
    const all = computeAllIndicators(BTC, { periodsPerYear: 365 });
    const staged: Record<string, ArrayLike<number>> = { ...returnsStage(BTC), ...volatilityStage(BTC, 365), ...taStage(BTC) };
    for (const d of emaStage(BTC, [], "CRYPTO").daily) staged[`ema_${d.period}`] = d.cols.ema!;
    expect(Object.keys(staged).sort()).toEqual([...FEATURE_COLUMNS].sort());
    for (const c of FEATURE_COLUMNS) expect(sameBits(all[c], staged[c]!), c).toBe(true);
  });

  it("the ema stage's timeframe EMAs are tfEma's, bit for bit (one canonical mask per timeframe)", () => {
    for (const d of emaStage(BTC, ["7D", "30D", "1W", "1M", "1Q", "1Y"], "CRYPTO").multiTf) {
      const r = tfEma(d.tf, BTC.dates, BTC.close, d.period);
      expect(sameBits(d.cols.ema!, r.ema), `${d.tf}/${d.period}`).toBe(true);
      expect(Array.from(d.cols.roll!), `${d.tf}/${d.period}`).toEqual(Array.from(r.roll));
      expect(Array.from(d.cols.is_canonical!), `${d.tf}/${d.period}`).toEqual(Array.from(r.canonical));
    }
  });

  // The columns of `whole` whose first k values are not `cut`'s, bit for bit.
  const differing = (whole: Columns, cut: Columns, k: number) => Object.keys(whole).filter((name) => !sameBits(whole[name]!.subarray(0, k), cut[name]!.subarray(0, k)));
  const prefix = (b: StageBars, k: number): StageBars => ({ dates: b.dates.slice(0, k), open: b.open.subarray(0, k), high: b.high.subarray(0, k), low: b.low.subarray(0, k), close: b.close.subarray(0, k) });

  it("the returns, volatility and ta stages over the first k bars are the whole history's computation (STAGE_REVISES 0)", () => {
    const stages = { returns: returnsStage, volatility: (b: StageBars) => volatilityStage(b, 365), ta: taStage } as const;
    for (const bars of [BTC, sample("SPY_daily.csv")]) {
      // Every cut inside the longest warm-up (where rolling windows and recursions start), then every 97th bar.
      const warmUp = Math.max(STAGE_LOOKBACK.returns, STAGE_LOOKBACK.volatility, STAGE_LOOKBACK.ta);
      const cuts = [...Array.from({ length: warmUp + 2 }, (_, i) => i + 1), ...Array.from({ length: Math.floor(bars.dates.length / 97) }, (_, i) => 97 * (i + 1))];
      for (const [stage, run] of Object.entries(stages)) {
        expect(STAGE_REVISES[stage as keyof typeof stages], stage).toBe(0);
        const all = run(bars);
        for (const k of cuts) expect(differing(all, run(prefix(bars, k)), k), `${stage} k=${k}`).toEqual([]);
      }
    }
  });

  it("the ema stage over the first k bars is the whole history's computation but for its last STAGE_REVISES rows", () => {
    const revises = STAGE_REVISES.ema!;
    expect(STAGE_REVISES).toEqual({ ema: 1, returns: 0, volatility: 0, ta: 0 });
    // Every calendar timeframe and two trading-day ones, over a 24/7 and a weekday session; cuts around quarter and year turns.
    const tfs = ["7D", "30D", ...TIMEFRAMES.filter((t) => t.is_calendar).map((t) => t.tf_label)];
    let changedLast = 0;
    for (const [bars, session] of [[BTC, "CRYPTO"], [sample("SPY_daily.csv"), "EQUITY"]] as const) {
      const all = emaStage(bars, tfs, session);
      // k bars stored, the next one opening a new year, quarter or month (and a cut one bar later).
      const turns = bars.dates.flatMap((d, i) => (i > revises && d.slice(0, 7) !== bars.dates[i - 1]!.slice(0, 7) ? [i] : []));
      // And k bars stored ending on the Thursday before a Friday holiday: that week closes only with the next bar.
      const weekday = (i: number) => new Date(`${bars.dates[i]}T00:00:00Z`).getUTCDay();
      const holidays = bars.dates.flatMap((_, i) => (i > revises && weekday(i - 1) === 4 && weekday(i) === 1 ? [i] : [])).slice(0, 4);
      for (const k of [...turns.filter((_, j) => j % 20 === 0).flatMap((i) => [i, i + 1]), ...holidays]) {
        const cut = emaStage(prefix(bars, k), tfs, session);
        for (const [i, d] of cut.daily.entries()) expect(differing(all.daily[i]!.cols, d.cols, k - revises), `${session} k=${k} ${d.period}`).toEqual([]);
        for (const [i, d] of cut.multiTf.entries()) {
          const whole = all.multiTf[i]!.cols;
          expect(differing(whole, d.cols, k - revises), `${session} k=${k} ${d.tf}/${d.period}`).toEqual([]);
          if (whole.is_canonical![k - 1] !== d.cols.is_canonical![k - 1]) changedLast++;
        }
      }
    }
    // The exception is real: some cut's last row does change once the next bar arrives.
    expect(changedLast).toBeGreaterThan(0);
  });

  it("only the volatility stage depends on periodsPerYear (the other stage jobs do not carry it)", () => {
    for (const i of DECLARED.filter((x) => x.stage !== "volatility")) {
      const a = i.compute(BTC, { periodsPerYear: 365 });
      const b = i.compute(BTC, { periodsPerYear: 252 });
      for (const c of i.columns) expect(sameBits(a[c], b[c]), `${i.name}.${c}`).toBe(true);
    }
  });
});

describe("strategy declarations", () => {
  it("types and aliases are unique names; each resolves to its strategy", () => {
    const names = STRATEGIES.flatMap((s) => [s.type, ...s.aliases]);
    expect(new Set(names).size).toBe(names.length);
    for (const s of STRATEGIES) for (const n of [s.type, ...s.aliases]) expect(strategyOf(n)).toBe(s);
  });

  it("an unknown type is refused, naming the value and the known types", () => {
    const err = (() => {
      try {
        configureStrategy("macd_cross", {});
      } catch (e) {
        return (e as Error).message;
      }
    })();
    expect(err).toMatch(/^type: unknown signal type \(got "macd_cross"\); expected one of /);
    for (const s of STRATEGIES) expect(err).toContain(s.type);
  });

  it("every declared type has its signals_<type> table: the position lifecycle, then the type's own columns", () => {
    expect(Object.keys(SIGNAL_TABLES).sort()).toEqual(STRATEGIES.map((s) => s.type).sort());
    const lifecycle = SIGNAL_TABLES.ema_crossover.values.slice(0, 7);
    for (const s of STRATEGIES) {
      const spec = SIGNAL_TABLES[s.type];
      expect(spec.table).toBe(`signals_${s.type}`);
      expect(spec.keys.map(([c]) => c)).toEqual(["asset_id", "signal_id", "entry_ts"]);
      expect(spec.values).toEqual([...lifecycle, ...s.tableColumns]);
    }
    expect(SIGNAL_TABLES.atr_breakout.values.slice(7).map(([c]) => c)).toEqual(["breakout_type", "channel_high", "channel_low"]);
  });

  it("a run reads its inputs from the store or derives them, hashes exactly them, and names a missing one", () => {
    const probe = defineStrategy({
      type: "probe",
      params: z.strictObject({ k: z.number().default(2) }),
      inputs: (p) => ({ close: { column: "close" }, scaled: { column: `scaled_${p.k}`, derive: (f) => f.close.map((c) => c * p.k) } }),
      rule: (_p, x) => ({ actions: Int8Array.from(x.scaled, (v, i) => (i === 1 ? 1 : v < 0 ? -1 : 0)), level: x.scaled }),
      tableColumns: { level: { type: "float8", at: (_p, o, i) => o.level[i]! }, k: { type: "text", at: (p) => String(p.k) } },
    });
    const f = { dates: ["d0", "d1", "d2", "d3"], open: Float64Array.of(1, 2, 3, 4), close: Float64Array.of(1, NaN, 3, 4) } as unknown as Features;
    const s = probe.configure({});
    expect(s.columns).toEqual(["close", "scaled_2"]);
    const derived = s.run(f);
    expect(Array.from(derived.values.scaled_2!)).toEqual([2, NaN, 6, 8]);
    expect(runFeatureHash(derived)).toBe(featureVersionHash(["close", "scaled_2"], { close: f.close, scaled_2: [2, NaN, 6, 8] }));
    const stored = s.run({ ...f, scaled_2: Float64Array.of(0, 0, 0, 0) } as unknown as Features);
    expect(stored.values.scaled_2).toEqual(Float64Array.of(0, 0, 0, 0));
    expect(positionRows(derived, f)).toMatchObject([{ entryDate: "d2", snapshot: { close: null, scaled_2: null }, tableValues: { level: null, k: "2" } }]);
    const noDerive = defineStrategy({ type: "nope", params: z.strictObject({}), inputs: () => ({ x: { column: "ema_13" } }), rule: () => ({ actions: new Int8Array(4) }) });
    expect(() => noDerive.configure({}).run(f)).toThrow(/nope: feature column ema_13 is not in the feature store/);
  });
});
