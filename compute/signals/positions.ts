/**
 * Position lifecycle from an action array (pure), using the same fill rules as the backtest engine:
 * an action at bar t fills at open[t + 1]; a signal on the last bar is ignored; a buy while long and a
 * sell while flat are ignored. Prices are open[t + 1] adjusted by slippage (buy ·(1 + slip),
 * sell ·(1 − slip); default 0 bps), before fees — i.e. equal to the engine's entryPrice / exitPrice.
 * A position still open at the end has status 'OPEN' and null exit fields.
 */

export interface Position {
  direction: "LONG";
  status: "OPEN" | "CLOSED";
  /** Bar whose close produced the entry signal. */
  entrySignalIndex: number;
  entryIndex: number;
  entryDate: string;
  entryPrice: number;
  exitSignalIndex: number | null;
  exitIndex: number | null;
  exitDate: string | null;
  exitPrice: number | null;
}

export function positionsFromActions(
  actions: ArrayLike<number>,
  dates: ArrayLike<string>,
  open: ArrayLike<number>,
  opts: { slippageBps?: number } = {},
): Position[] {
  const n = actions.length;
  if (dates.length !== n || open.length !== n) {
    throw new Error(`positionsFromActions: actions/dates/open lengths differ (${n}/${dates.length}/${open.length})`);
  }
  const slip = (opts.slippageBps ?? 0) / 10_000;
  const out: Position[] = [];
  let cur: Position | null = null;
  for (let t = 1; t < n; t++) {
    const a = actions[t - 1];
    if (a > 0 && cur === null) {
      cur = {
        direction: "LONG",
        status: "OPEN",
        entrySignalIndex: t - 1,
        entryIndex: t,
        entryDate: dates[t],
        entryPrice: open[t] * (1 + slip),
        exitSignalIndex: null,
        exitIndex: null,
        exitDate: null,
        exitPrice: null,
      };
      out.push(cur);
    } else if (a < 0 && cur !== null) {
      cur.status = "CLOSED";
      cur.exitSignalIndex = t - 1;
      cur.exitIndex = t;
      cur.exitDate = dates[t];
      cur.exitPrice = open[t] * (1 - slip);
      cur = null;
    }
  }
  return out;
}
