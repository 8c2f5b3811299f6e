// What declaring a strategy type means, and the run every type shares (pure): read the declared feature
// columns from the store (or derive the ones it does not carry), apply the rule, hash exactly what the rule
// was given. The list in catalog.ts is the only other place that names a type.
import type { z } from "zod";
import { featureDigest, formatColumn, formattedVersionHash } from "./feature-hash.ts";
import { formatParamIssues } from "./params.ts";
import { positionsFromActions, type Position } from "./positions.ts";

export type Features = { dates: string[] } & Record<string, Float64Array>;

export interface FeatureInput {
  /** Feature-store column; also its name in the feature version hash and in the position's snapshot. */
  column: string;
  /** Computes the column from the bars, with the store's conventions, for periods the store does not carry (e.g. EMA 13). */
  derive?: (f: Features) => Float64Array;
}

/** A column of the type's signals table beyond the position lifecycle, taken at the bar of the entry signal. */
export interface TableColumn<P, O> {
  type: "float8" | "text";
  at: (params: P, out: O, i: number) => number | string;
}

export interface StrategyDeclaration<T extends string, P extends object, R extends string, O extends { actions: Int8Array }> {
  /** dim_signals.signal_type; the positions go to signals_<type>. */
  type: T;
  /** Other names strategyOf accepts for the type (dim_signals stores the type itself). */
  aliases?: readonly string[];
  /** Strict: unknown keys are rejected, so typos fail; defaults live here and nowhere else. */
  params: z.ZodType<P>;
  /**
   * The feature columns one configuration reads, by role, in the order of the feature version hash (the
   * contract that detects changed features): the rule sees these and nothing else.
   */
  inputs: (params: P) => Record<R, FeatureInput>;
  /** The signal rule: per-bar actions (+1 enter long, −1 exit, 0 nothing) and what its table columns read. */
  rule: (params: P, x: Record<R, Float64Array>) => O;
  tableColumns?: Record<string, TableColumn<P, O>>;
}

export interface StrategyRun {
  actions: Int8Array;
  /** Feature columns the rule read, in hash order. */
  columns: readonly string[];
  values: Record<string, Float64Array>;
  /** The type's own table columns for a position whose entry signal is on bar i. */
  tableValues: (i: number) => Record<string, number | string | null>;
}

/** One validated configuration (a dim_signals row) of a strategy type. */
export interface ConfiguredStrategy<T extends string = string> {
  type: T;
  /** Parsed params, defaults applied: what a backtest hashes and stores. */
  params: object;
  /** Feature columns it reads, in hash order. */
  columns: readonly string[];
  run: (f: Features) => StrategyRun;
}

export interface Strategy<T extends string = string> {
  type: T;
  aliases: readonly string[];
  /** Columns of signals_<type> after the position columns, with their SQL types. */
  tableColumns: ReadonlyArray<readonly [name: string, type: "float8" | "text"]>;
  /** Validates raw params; throws one "params.<path>: <message> (got <value>)" line per bad field. */
  configure: (params: unknown) => ConfiguredStrategy<T>;
}

const finite = (x: number | undefined) => (x === undefined || Number.isNaN(x) ? null : x);
const cell = (v: number | string) => (typeof v === "number" ? finite(v) : v);

function read(f: Features, input: FeatureInput, type: string): Float64Array {
  const stored = f[input.column];
  if (stored !== undefined) return stored;
  if (input.derive) return input.derive(f);
  throw new Error(`${type}: feature column ${input.column} is not in the feature store and the strategy does not derive it`);
}

export function defineStrategy<const T extends string, P extends object, R extends string, O extends { actions: Int8Array }>(
  d: StrategyDeclaration<T, P, R, O>,
): Strategy<T> {
  const own = Object.entries(d.tableColumns ?? {});
  return Object.freeze({
    type: d.type,
    aliases: Object.freeze([...(d.aliases ?? [])]),
    tableColumns: Object.freeze(own.map(([name, c]) => Object.freeze([name, c.type] as const))),
    configure(raw: unknown): ConfiguredStrategy<T> {
      const parsed = d.params.safeParse(raw);
      if (!parsed.success) throw new Error(formatParamIssues(parsed.error, raw));
      const p = parsed.data;
      const inputs = Object.entries(d.inputs(p)) as Array<[R, FeatureInput]>;
      const columns = Object.freeze(inputs.map(([, input]) => input.column));
      const run = (f: Features): StrategyRun => {
        const values: Record<string, Float64Array> = {};
        const x = {} as Record<R, Float64Array>;
        for (const [role, input] of inputs) x[role] = values[input.column] ??= read(f, input, d.type);
        const out = d.rule(p, x);
        return { actions: out.actions, columns, values, tableValues: (i) => Object.fromEntries(own.map(([name, c]) => [name, cell(c.at(p, out, i))])) };
      };
      return Object.freeze({ type: d.type, params: p, columns, run });
    },
  });
}

export interface PositionRow extends Position {
  featureVersionHash: string;
  snapshot: Record<string, number | null>;
  tableValues: Record<string, number | string | null>;
}

// Each run's columns as the feature version hash serialises them, formatted once: a run hashes every
// position's prefix and its whole period, and formatting the numbers is most of a hash's cost.
const formattedRuns = new WeakMap<StrategyRun, Record<string, string[]>>();

function formatted(run: StrategyRun): Record<string, string[]> {
  let text = formattedRuns.get(run);
  if (!text) {
    text = {};
    for (const c of run.columns) text[c] ??= formatColumn(run.values[c]);
    formattedRuns.set(run, text);
  }
  return text;
}

/**
 * Positions with what they were decided on: the hash of the feature columns up to the entry signal (stable
 * when later bars arrive, different when an earlier bar is revised) and the feature values at entry. `keep`
 * picks the positions wanted before any is hashed (a daily refresh stores only the recent ones).
 */
export function positionRows(run: StrategyRun, f: Features, keep: (p: Position) => boolean = () => true): PositionRow[] {
  const wanted = positionsFromActions(run.actions, f.dates, f.open).filter(keep);
  const text = wanted.length ? formatted(run) : {};
  return wanted.map((p) => {
    const i = p.entrySignalIndex;
    return {
      ...p,
      featureVersionHash: formattedVersionHash(run.columns, text, i + 1),
      snapshot: Object.fromEntries(run.columns.map((c) => [c, finite(run.values[c][i])])),
      tableValues: run.tableValues(i),
    };
  });
}

/** Hash of every feature column the strategy read over the whole period (identifies a backtest's inputs). */
export const runFeatureHash = (run: StrategyRun) => formattedVersionHash(run.columns, formatted(run));

/** The digest of the same columns' bytes (feature-hash.ts featureDigest). */
export const runFeatureDigest = (run: StrategyRun) => featureDigest(run.columns, run.values);
