/**
 * Pure, deterministic long-only backtest engine (no I/O).
 *
 * Conventions:
 * - Starting equity 1.0 held as cash. Units are fractional.
 * - actions[t] (> 0 buy / enter long, < 0 sell / exit, 0 nothing) is read at bar t's close and filled at
 *   the OPEN of bar t + 1. A signal on the last bar is ignored; a buy while long or a sell while flat is
 *   ignored. At most one fill per bar (one action per bar).
 * - Fees are per side in bps and multiplicative; slippage in bps moves the fill price against us:
 *     buy : price = O[t+1]·(1 + slip); committed = E (all_in) or fraction·E (fixed_fraction);
 *           units = committed·(1 − fee) / price; cash −= committed
 *     sell: price = O[t+1]·(1 − slip); cash += units·price·(1 − fee)
 * - Equity is marked at every close: cash + units·C[t] (flat → cash).
 * - A position still open on the last bar is marked at the last close with no exit fee; it is reported in
 *   `openPosition` and is NOT a trade (not in `trades`, win rate, profit factor or the trade count).
 * - Trade prices (`entryPrice`, `exitPrice`) are the effective fill prices after slippage, before fees;
 *   pnl = exit cash − equity committed at entry; ret = pnl / committed.
 *
 * The per-bar loop allocates nothing (one trade object per closed trade); pass `equityBuffer` to reuse
 * the equity array across runs.
 */
import { computeMetrics, type BacktestMetrics } from "./metrics.ts";

export type Sizing = { kind: "all_in" } | { kind: "fixed_fraction"; fraction: number };

export interface BacktestInput {
  open: ArrayLike<number>;
  close: ArrayLike<number>;
  dates: ArrayLike<string>;
  actions: ArrayLike<number>;
  /** Fee per side in basis points (default 10). */
  feeBps?: number;
  /** Slippage per side in basis points (default 0). */
  slippageBps?: number;
  sizing?: Sizing;
  /** 365 for crypto, 252 for equities. */
  periodsPerYear: number;
  /** Optional reusable output buffer of exactly `close.length` elements; the result's `equity` IS this
   * buffer (copy it before the next run if you keep it). */
  equityBuffer?: Float64Array;
}

export interface Trade {
  entryIndex: number;
  exitIndex: number;
  entryDate: string;
  exitDate: string;
  entryPrice: number;
  exitPrice: number;
  units: number;
  /** Equity committed at entry (before the entry fee). */
  committed: number;
  pnl: number;
  ret: number;
}

export interface OpenPosition {
  entryIndex: number;
  entryDate: string;
  entryPrice: number;
  units: number;
  committed: number;
  markIndex: number;
  markPrice: number;
  markValue: number;
  unrealizedPnl: number;
  ret: number;
}

export interface BacktestResult {
  equity: Float64Array;
  trades: Trade[];
  openPosition: OpenPosition | null;
  barsInPosition: number;
  metrics: BacktestMetrics;
}

function checkBps(name: string, v: number): void {
  if (typeof v !== "number" || !Number.isFinite(v) || v < 0 || v >= 10_000) {
    throw new Error(`runBacktest: ${name} must be a finite number in [0, 10000) (got ${String(v)})`);
  }
}

export function runBacktest(input: BacktestInput): BacktestResult {
  const { open, close, dates, actions, periodsPerYear } = input;
  const feeBps = input.feeBps ?? 10;
  const slippageBps = input.slippageBps ?? 0;
  const sizing: Sizing = input.sizing ?? { kind: "all_in" };
  const n = close.length;
  if (n < 1) throw new Error("runBacktest: series must have at least one bar");
  if (open.length !== n || dates.length !== n || actions.length !== n) {
    throw new Error(
      `runBacktest: open/close/dates/actions lengths differ (${open.length}/${n}/${dates.length}/${actions.length})`,
    );
  }
  checkBps("feeBps", feeBps);
  checkBps("slippageBps", slippageBps);
  let fraction = 1;
  if (sizing.kind === "fixed_fraction") {
    fraction = sizing.fraction;
    if (!(fraction > 0 && fraction <= 1)) {
      throw new Error(`runBacktest: sizing.fraction must be in (0, 1] (got ${String(fraction)})`);
    }
  } else if (sizing.kind !== "all_in") {
    throw new Error(`runBacktest: unknown sizing.kind (got ${String((sizing as { kind: unknown }).kind)})`);
  }
  const allIn = sizing.kind === "all_in";
  let equity: Float64Array;
  if (input.equityBuffer) {
    if (input.equityBuffer.length !== n) {
      throw new Error(`runBacktest: equityBuffer length ${input.equityBuffer.length} != ${n}`);
    }
    equity = input.equityBuffer;
  } else {
    equity = new Float64Array(n);
  }

  const keep = 1 - feeBps / 10_000;
  const slip = slippageBps / 10_000;
  const buyMult = 1 + slip;
  const sellMult = 1 - slip;
  const trades: Trade[] = [];

  let cash = 1;
  let units = 0;
  let long = false;
  let committed = 0;
  let entryIndex = -1;
  let entryPrice = 0;
  let held = 0;

  // Bar 0 can never hold a position (the earliest fill is the open of bar 1).
  equity[0] = cash;
  for (let t = 1; t < n; t++) {
    const a = actions[t - 1];
    if (a !== 0) {
      if (a > 0) {
        if (!long) {
          const price = open[t] * buyMult;
          committed = allIn ? cash : cash * fraction;
          units = (committed * keep) / price;
          cash = cash - committed;
          long = true;
          entryIndex = t;
          entryPrice = price;
        }
      } else if (a < 0 && long) {
        const price = open[t] * sellMult;
        const proceeds = units * price * keep;
        cash = cash + proceeds;
        const pnl = proceeds - committed;
        trades.push({
          entryIndex,
          exitIndex: t,
          entryDate: dates[entryIndex],
          exitDate: dates[t],
          entryPrice,
          exitPrice: price,
          units,
          committed,
          pnl,
          ret: pnl / committed,
        });
        long = false;
        units = 0;
      }
    }
    if (long) {
      equity[t] = cash + units * close[t];
      held++;
    } else {
      equity[t] = cash;
    }
  }

  let openPosition: OpenPosition | null = null;
  if (long) {
    const markPrice = close[n - 1];
    const markValue = units * markPrice;
    const unrealizedPnl = markValue - committed;
    openPosition = {
      entryIndex,
      entryDate: dates[entryIndex],
      entryPrice,
      units,
      committed,
      markIndex: n - 1,
      markPrice,
      markValue,
      unrealizedPnl,
      ret: unrealizedPnl / committed,
    };
  }

  const metrics = computeMetrics({ equity, dates, trades, barsInPosition: held, periodsPerYear });
  return { equity, trades, openPosition, barsInPosition: held, metrics };
}
