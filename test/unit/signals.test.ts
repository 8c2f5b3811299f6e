// Signal rules, params schemas, position lifecycle and feature hash (pure; expected values hand-built).
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { runBacktest } from "../../compute/backtest/engine.ts";
import { atrBreakoutSignals, type AtrBreakoutOptions } from "../../compute/signals/atr-breakout.ts";
import { configureStrategy } from "../../compute/signals/catalog.ts";
import { emaCrossActions, emaCrossSignals } from "../../compute/signals/ema-cross.ts";
import { featureDigest, featureVersionHash } from "../../compute/signals/feature-hash.ts";
import { positionsFromActions } from "../../compute/signals/positions.ts";
import { rsiRevertSignals } from "../../compute/signals/rsi-revert.ts";

const paramsOf = (type: string, params: unknown) => configureStrategy(type, params).params;

const N = NaN;

describe("EMA crossover", () => {
  it("emits only on cross events, never because fast already starts above slow", () => {
    //            0  1  2  3  4  5  6  7  8
    const fast = [N, N, 5, 6, 4, 3, 3, 5, 6];
    const slow = [N, 4, 4, 4, 4, 3, 3, 4, 4];
    const { actions, events } = emaCrossSignals(fast, slow);
    // bar 2: first bar with both defined and fast above → no entry (bar 1 fast undefined)
    // bar 4: 4 < 4? no (equal) → no cross; bar 5: equal → nothing; bar 7: 5 > 4 after equal → cross-up
    expect(Array.from(actions)).toEqual([0, 0, 0, 0, 0, 0, 0, 1, 0]);
    expect(events).toEqual([{ index: 7, type: "cross_up", action: 1, fast: 5, slow: 4 }]);
  });

  it("cross-down and cross-up symmetric, with the equality edge counted as 'not above'", () => {
    const fast = [2, 3, 1, 1, 2, 2, 1];
    const slow = [1, 1, 1, 2, 1, 2, 2];
    // t1: 3>1, prev 2>1 → none; t2: 1=1 → none; t3: 1<2, prev 1≥1 → −1; t4: 2>1, prev 1≤2 → +1;
    // t5: 2=2 → none; t6: 1<2, prev 2≥2 → −1
    expect(Array.from(emaCrossActions(fast, slow))).toEqual([0, 0, 0, -1, 1, 0, -1]);
    const buf = new Int8Array(7).fill(9);
    expect(emaCrossActions(fast, slow, buf)).toBe(buf);
    expect(Array.from(buf)).toEqual([0, 0, 0, -1, 1, 0, -1]);
    expect(() => emaCrossActions([1, 2], [1])).toThrow(/lengths differ/);
  });
});

describe("RSI mean-revert", () => {
  it("is a flat/long state machine emitting only actionable signals", () => {
    //           0   1   2   3   4   5   6   7   8   9  10
    const rsi = [N, 50, 25, 20, 30, 75, 80, 70, 30, 29, 71];
    const { actions, events, state } = rsiRevertSignals(rsi, { lower: 30, upper: 70 });
    // buy at 2 (<30 while flat); 3 still oversold but long → 0; sell at 5 (>70 while long); 6 flat → 0;
    // 7 = 70 and 8 = 30 are not strict → 0; buy at 9; sell at 10
    expect(Array.from(actions)).toEqual([0, 0, 1, 0, 0, -1, 0, 0, 0, 1, -1]);
    expect(Array.from(state)).toEqual([0, 0, 1, 1, 1, 0, 0, 0, 0, 1, 0]);
    expect(events.map((e) => [e.index, e.type])).toEqual([
      [2, "oversold_buy"],
      [5, "overbought_sell"],
      [9, "oversold_buy"],
      [10, "overbought_sell"],
    ]);
  });

  it("validates bounds", () => {
    expect(() => rsiRevertSignals([50], { lower: 70, upper: 30 })).toThrow(/lower/);
  });
});

describe("ATR breakout", () => {
  //              0   1   2   3   4   5   6   7   8
  const high = [10, 11, 12, 11, 15, 14, 13, 12, 20];
  const low = [9, 10, 11, 10, 12, 12, 11, 9, 17];
  const close = [9.5, 10.5, 11.5, 10.5, 14, 13, 12, 9.5, 19];
  const atr = [N, 1, 1, 1, 1, 4, 4, 4, 1];
  const opts = (o: Partial<AtrBreakoutOptions>): AtrBreakoutOptions => ({ channel: 3, breakout_type: "channel_break", atr_mult: 1.5, ...o });

  it("keeps Donchian levels of the previous `channel` bars and the true range", () => {
    const r = atrBreakoutSignals({ high, low, close, atr }, opts({}));
    expect(Array.from(r.channelHigh)).toEqual([N, N, N, 12, 12, 15, 15, 15, 14]);
    expect(Array.from(r.channelLow)).toEqual([N, N, N, 9, 10, 10, 10, 11, 9]);
    // TR[4] = max(15−12, |15−10.5|, |12−10.5|) = 4.5; TR[8] = max(3, |20−9.5|, |17−9.5|) = 10.5
    expect(r.trueRange[0]).toBeNaN();
    expect(r.trueRange[4]).toBe(4.5);
    expect(r.trueRange[8]).toBe(10.5);
  });

  it("channel_break enters on close > channel high and exits on close < channel low", () => {
    const r = atrBreakoutSignals({ high, low, close, atr }, opts({ breakout_type: "channel_break" }));
    // bar 4: 14 > 12 → buy; bar 7: 9.5 < 11 → sell; bar 8: 19 > 14 → buy
    expect(Array.from(r.actions)).toEqual([0, 0, 0, 0, 1, 0, 0, -1, 1]);
    expect(r.events[0]).toMatchObject({ index: 4, type: "breakout_entry", channelHigh: 12, trueRange: 4.5, prevAtr: 1 });
    expect(r.events[1]).toMatchObject({ index: 7, type: "channel_exit", channelLow: 11 });
  });

  it("atr_expansion enters on TR[t] > atr_mult · ATR[t−1]; 'both' needs both", () => {
    // TR: [N, 1.5, 1.5, 1.5, 4.5, 2, 2, 3, 10.5]; ATR[t−1]·1.5: [N, N, 1.5, 1.5, 1.5, 1.5, 6, 6, 6]
    const exp = atrBreakoutSignals({ high, low, close, atr }, opts({ breakout_type: "atr_expansion" }));
    // bar 1/2/3: TR 1.5 not > 1.5 (bar 1: ATR[0] NaN); bar 4: 4.5 > 1.5 → buy; exit at 7; bar 8: 10.5 > 6 → buy
    expect(Array.from(exp.actions)).toEqual([0, 0, 0, 0, 1, 0, 0, -1, 1]);
    const both = atrBreakoutSignals({ high, low, close, atr }, opts({ breakout_type: "both", atr_mult: 2 }));
    // atr_mult 2: bar 4: 4.5 > 2 and 14 > 12 → buy; bar 8: 10.5 > 8 and 19 > 14 → buy
    expect(Array.from(both.actions)).toEqual([0, 0, 0, 0, 1, 0, 0, -1, 1]);
    const strict = atrBreakoutSignals({ high, low, close, atr }, opts({ breakout_type: "both", atr_mult: 3.5 }));
    // atr_mult 3.5: bar 4: 4.5 > 3.5 ok; bar 8: 10.5 > 14 fails → no re-entry
    expect(Array.from(strict.actions)).toEqual([0, 0, 0, 0, 1, 0, 0, -1, 0]);
    const onlyBreak = atrBreakoutSignals({ high, low, close, atr: atr.map((a) => a * 10) }, opts({ breakout_type: "both" }));
    expect(Array.from(onlyBreak.actions)).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0]);
  });
});

describe("signal params", () => {
  const msg = (fn: () => unknown): string => {
    try {
      fn();
    } catch (e) {
      return (e as Error).message;
    }
    throw new Error("expected a throw");
  };

  it("ema: slow must exceed fast, integers in range, no unknown keys", () => {
    expect(paramsOf("ema_crossover", { fast: 9, slow: 21 })).toEqual({ fast: 9, slow: 21 });
    expect(msg(() => paramsOf("ema_cross", { fast: 9, slow: 5 }))).toBe("params.slow: must be greater than fast (got 5)");
    expect(msg(() => paramsOf("ema_cross", { fast: 1, slow: 5 }))).toMatch(/^params\.fast: .*\(got 1\)$/);
    expect(msg(() => paramsOf("ema_cross", { fast: 9.5, slow: 21 }))).toMatch(/params\.fast: must be an integer.*\(got 9\.5\)/);
    expect(msg(() => paramsOf("ema_cross", { fast: 9 }))).toMatch(/params\.slow: .*\(got undefined\)/);
    expect(msg(() => paramsOf("ema_cross", { fast: 9, slow: 21, sloww: 3 }))).toMatch(/params\.sloww: unrecognized key \(got 3\)/);
  });

  it("rsi: defaults and 0 < lower < upper < 100", () => {
    expect(paramsOf("rsi_mean_revert", {})).toEqual({ period: 14, lower: 30, upper: 70 });
    expect(msg(() => paramsOf("rsi_revert", { lower: 70, upper: 30 }))).toBe("params.upper: must be greater than lower (got 30)");
    expect(msg(() => paramsOf("rsi_revert", { lower: 0 }))).toMatch(/params\.lower: .*\(got 0\)/);
    expect(msg(() => paramsOf("rsi_revert", { upper: 100 }))).toMatch(/params\.upper: .*\(got 100\)/);
    expect(msg(() => paramsOf("rsi_revert", { period: "14" }))).toMatch(/params\.period: .*\(got "14"\)/);
  });

  it("atr: defaults, breakout_type enum, atr_mult > 0, unknown type", () => {
    expect(paramsOf("atr_breakout", {})).toEqual({ channel: 20, atr: 14, breakout_type: "channel_break", atr_mult: 1.5 });
    expect(msg(() => paramsOf("atr_breakout", { breakout_type: "wide" }))).toMatch(/params\.breakout_type: must be one of .*\(got "wide"\)/);
    expect(msg(() => paramsOf("atr_breakout", { atr_mult: 0 }))).toMatch(/params\.atr_mult: .*\(got 0\)/);
    expect(msg(() => paramsOf("atr_breakout", { channel: 0, atr: 2.5 }))).toMatch(/params\.channel: .*\(got 0\)\nparams\.atr: .*\(got 2\.5\)/);
    expect(msg(() => paramsOf("macd", {}))).toMatch(/^type: unknown signal type \(got "macd"\)/);
  });
});

describe("positionsFromActions", () => {
  it("builds the OPEN/CLOSED lifecycle with next-open fills", () => {
    const dates = ["d0", "d1", "d2", "d3", "d4", "d5", "d6"];
    const open = [10, 11, 12, 13, 14, 15, 16];
    const pos = positionsFromActions([1, 0, -1, -1, 1, 1, -1], dates, open);
    expect(pos).toEqual([
      { direction: "LONG", status: "CLOSED", entrySignalIndex: 0, entryIndex: 1, entryDate: "d1", entryPrice: 11, exitSignalIndex: 2, exitIndex: 3, exitDate: "d3", exitPrice: 13 },
      // sell at 3 ignored (flat); buy at 5 ignored (long); sell on the last bar never fills → OPEN
      { direction: "LONG", status: "OPEN", entrySignalIndex: 4, entryIndex: 5, entryDate: "d5", entryPrice: 15, exitSignalIndex: null, exitIndex: null, exitDate: null, exitPrice: null },
    ]);
  });

  it("agrees with the backtest engine on BTC EMA 9/21", () => {
    const rows = readFileSync(path.resolve(import.meta.dirname, "../../data/BTC-USD_daily.csv"), "utf8").trim().split("\n").slice(1).map((l) => l.split(","));
    const dates = rows.map((f) => f[0]);
    const open = Float64Array.from(rows, (f) => Number(f[1]));
    const close = Float64Array.from(rows, (f) => Number(f[4]));
    const ema = (p: number) => {
      const out = new Float64Array(close.length).fill(NaN);
      let s = 0;
      for (let i = 0; i < p; i++) s += close[i];
      out[p - 1] = s / p;
      for (let i = p; i < close.length; i++) out[i] = (2 / (p + 1)) * close[i] + (1 - 2 / (p + 1)) * out[i - 1];
      return out;
    };
    const actions = emaCrossActions(ema(9), ema(21));
    const bt = runBacktest({ open, close, dates, actions, feeBps: 10, slippageBps: 5, periodsPerYear: 365 });
    const pos = positionsFromActions(actions, dates, open, { slippageBps: 5 });
    const closed = pos.filter((p) => p.status === "CLOSED");
    expect(closed.length).toBe(bt.trades.length);
    closed.forEach((p, i) => {
      const t = bt.trades[i];
      expect([p.entryIndex, p.exitIndex, p.entryDate, p.exitDate, p.entryPrice, p.exitPrice]).toEqual([t.entryIndex, t.exitIndex, t.entryDate, t.exitDate, t.entryPrice, t.exitPrice]);
    });
    expect(pos.length - closed.length).toBe(bt.openPosition ? 1 : 0);
  });
});

describe("featureVersionHash", () => {
  it("hashes the canonical serialisation in the given column order", () => {
    const values = { close: [1, 2.5, NaN], ema_9: [0.1, -3, 1e21] };
    const canonical = "close\n1,2.5,NaN\nema_9\n0.1,-3,1e+21\n";
    const want = createHash("sha256").update(canonical, "utf8").digest("hex").slice(0, 16);
    expect(featureVersionHash(["close", "ema_9"], values)).toBe(want);
    expect(featureVersionHash(["close", "ema_9"], { ema_9: Float64Array.from(values.ema_9), close: Float64Array.from(values.close) })).toBe(want);
    expect(featureVersionHash(["ema_9", "close"], values)).not.toBe(want);
    expect(featureVersionHash(["close", "ema_9"], { ...values, close: [1, 2.5000000000000004, NaN] })).not.toBe(want);
    expect(() => featureVersionHash(["rsi_14"], values)).toThrow(/rsi_14/);
  });
});

describe("featureDigest", () => {
  const close = Float64Array.from([1, 2.5, NaN]);
  const ema = Float64Array.from([0.1, -3, 1e21]);
  const want = featureDigest(["close", "ema_9"], { close, ema_9: ema });

  it("depends on the bytes, names and order of the columns only", () => {
    // The same values inside a larger buffer (a read's columns are views of one allocation).
    const shared = new Float64Array(8);
    shared.set(close, 1);
    shared.set(ema, 4);
    expect(featureDigest(["close", "ema_9"], { close: shared.subarray(1, 4), ema_9: shared.subarray(4, 7) })).toBe(want);
    expect(featureDigest(["ema_9", "close"], { close, ema_9: ema })).not.toBe(want);
    expect(featureDigest(["close", "ema_21"], { close, ema_21: ema })).not.toBe(want);
    expect(featureDigest(["close", "ema_9"], { close, ema_9: Float64Array.from([0.1, -3, 1.0000000000000002e21]) })).not.toBe(want);
    // A value moved across the column boundary: the lengths are part of the digest.
    expect(featureDigest(["close", "ema_9"], { close: close.subarray(0, 2), ema_9: Float64Array.from([NaN, 0.1, -3, 1e21]) })).not.toBe(want);
    expect(() => featureDigest(["rsi_14"], { close })).toThrow(/rsi_14/);
  });
});
