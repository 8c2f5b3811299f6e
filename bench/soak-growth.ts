// Growth from after warm-up to the end of a soak's steady state, read from samples that are noisy by nature:
// medians of a window at each end, never single samples.
export interface Window {
  /** Median of the window. */
  value: number;
  /** Where the window lies in the run: seconds and jobs done at its first and last sample. */
  t: [number, number];
  done: [number, number];
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/**
 * The first and the last tenth of `series` (at least `min` samples each), summarised by their medians; undefined
 * when the series is too short for two windows.
 */
export function ends<T extends { t: number; done: number }>(series: T[], value: (s: T) => number, min = 3): { first: Window; last: Window; growth: number } | undefined {
  const size = Math.max(min, Math.round(series.length / 10));
  if (series.length < 2 * size) return undefined;
  const summary = (win: T[]): Window => ({ value: median(win.map(value)), t: [win[0]!.t, win.at(-1)!.t], done: [win[0]!.done, win.at(-1)!.done] });
  const [first, last] = [summary(series.slice(0, size)), summary(series.slice(-size))];
  return { first, last, growth: last.value / first.value - 1 };
}
