/**
 * MACD(fast, slow, signal) = EMA_fast − EMA_slow, signal = EMA_signal of the MACD line, hist = macd − signal.
 * Every EMA is the SMA-seeded EMA of ema.ts, each seeded independently at its own first full window: with
 * (12, 26, 9) the MACD line starts at bar 25 and the signal at bar 33 (seeded with mean(macd[25..33])).
 * This equals `technicalindicators` (EMA mode). TA-Lib's TA_MACD instead delays the fast EMA's seed so that
 * both start at bar 25; its values differ in the early bars, the gap decaying geometrically.
 */
import { emaInto } from "./ema.ts";
import { defineIndicator } from "./indicator.ts";

export interface Macd {
  macd: Float64Array;
  signal: Float64Array;
  hist: Float64Array;
}

export function macd(close: ArrayLike<number>, fast = 12, slow = 26, signal = 9): Macd {
  const n = close.length;
  const line = new Float64Array(n);
  const slowBuf = new Float64Array(n);
  emaInto(close, fast, line);
  emaInto(close, slow, slowBuf);
  for (let t = 0; t < n; t++) line[t] -= slowBuf[t]; // NaN until both are seeded
  const sig = slowBuf; // reuse the buffer: slow EMA no longer needed
  emaInto(line, signal, sig);
  const hist = new Float64Array(n);
  for (let t = 0; t < n; t++) hist[t] = line[t] - sig[t];
  return { macd: line, signal: sig, hist };
}

export const MACD = defineIndicator({
  name: "macd",
  stage: "ta",
  columns: ["macd", "macd_signal", "macd_hist"],
  lookback: 26 + 9 - 1,
  compute: ({ close }) => {
    const m = macd(close, 12, 26, 9);
    return { macd: m.macd, macd_signal: m.signal, macd_hist: m.hist };
  },
});
