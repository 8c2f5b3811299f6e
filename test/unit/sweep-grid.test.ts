// The sweep grid's size is counted without building the grid: checked here against building it, and the
// CLI refuses a grid over SWEEP_MAX_COMBINATIONS before any pair exists.
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../ops/config.ts";
import { UsageError } from "../../producers/commands/command.ts";
import { sweepCommand } from "../../producers/commands/sweep.ts";
import { emaGridPairs, emaGridSize, rangeValues, type IntRange } from "../../compute/backtest/sweep-grid.ts";

const bruteForce = (fast: IntRange, slow: IntRange) => rangeValues(fast).reduce((n, f) => n + rangeValues(slow).filter((s) => f < s).length, 0);

describe("sweep grid size", () => {
  it("equals the number of fast < slow pairs for every small grid, steps included", () => {
    let grids = 0;
    for (const fast of rangesUpTo(9)) {
      for (const slow of rangesUpTo(9)) {
        const expected = bruteForce(fast, slow);
        if (expected === 0) expect(() => emaGridSize(fast, slow), `${fast} / ${slow}`).toThrow(/--fast\/--slow: empty grid/);
        else expect(emaGridSize(fast, slow), `${fast} / ${slow}`).toBe(expected);
        grids++;
      }
    }
    expect(grids).toBeGreaterThan(10_000);
  });

  it("matches the pairs the workers build, on sweep-sized grids", () => {
    for (const [fast, slow] of [
      [[5, 50, 5], [10, 200, 5]],
      [[5, 104, 1], [110, 209, 1]],
      [[3, 97, 7], [2, 300, 11]],
      [[40, 400, 3], [1, 410, 4]],
    ] as Array<[IntRange, IntRange]>) {
      expect(emaGridSize(fast, slow)).toBe(emaGridPairs(fast, slow).length);
    }
  });

  it("counts grids far too large to build, exactly", () => {
    // n fast values 1..n below slow values 2..n+1: n + (n − 1) + … + 1.
    expect(emaGridSize([1, 100_000, 1], [2, 100_001, 1])).toBe((100_000 * 100_001) / 2);
    expect(emaGridSize([1, 100_000, 1], [2, 100_000, 1])).toBe((99_999 * 100_000) / 2);
    expect(emaGridSize([1, 2 ** 40, 1], [1, 2 ** 20, 1])).toBe(((2 ** 20 - 1) * 2 ** 20) / 2);
  });
});

describe("sweep CLI", () => {
  const values = { strategy: "ema_cross", asset: "BTC-USD", fast: "1..100000", slow: "2..100000" };

  it("refuses a grid over SWEEP_MAX_COMBINATIONS, naming the flags, the count and the setting", () => {
    // Counted, not built: building these 5·10⁹ pairs would run out of memory long before the test's timeout.
    expect(() => sweepCommand.prepare(values, [], parseConfig({}))).toThrow(UsageError);
    expect(() => sweepCommand.prepare(values, [], parseConfig({}))).toThrow("--fast/--slow: 4999950000 fast < slow combinations, over SWEEP_MAX_COMBINATIONS (1000000)");
  });

  it("accepts a grid at the cap", () => {
    const cfg = parseConfig({ SWEEP_MAX_COMBINATIONS: "4950" });
    expect(() => sweepCommand.prepare({ ...values, fast: "1..100", slow: "1..100" }, [], cfg)).not.toThrow();
    expect(() => sweepCommand.prepare({ ...values, fast: "1..100", slow: "1..101" }, [], cfg)).toThrow(/5050 fast < slow combinations, over SWEEP_MAX_COMBINATIONS \(4950\)/);
  });
});

function* rangesUpTo(max: number): Generator<IntRange> {
  for (let lo = 1; lo <= max; lo++) for (let hi = lo; hi <= max; hi++) for (let step = 1; step <= 4; step++) yield [lo, hi, step];
}
