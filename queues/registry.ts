// Every job kind of the fleet, in one list. Everything that spans all kinds derives from it: the queues a
// worker consumes by default, the processors it must have (workers/processors.ts fails to compile without
// one per kind), bull-board, depth metrics, alerts and chat-ops.
import type { JobKind } from "./kind.ts";
import { backtestKind } from "./kinds/backtest.ts";
import { flowKind } from "./kinds/flow.ts";
import { llmKind } from "./kinds/llm.ts";
import { maintenanceKind } from "./kinds/maintenance.ts";
import { signalKind } from "./kinds/signal.ts";
import { stageKind } from "./kinds/stage.ts";

export { backtestKind, flowKind, llmKind, maintenanceKind, signalKind, stageKind };

export const KINDS = Object.freeze({
  stage: stageKind,
  signal: signalKind,
  backtest: backtestKind,
  llm: llmKind,
  maintenance: maintenanceKind,
  flow: flowKind,
});

export type KindName = keyof typeof KINDS;
export const KIND_NAMES = Object.freeze(Object.keys(KINDS) as KindName[]);

// Own keys only: "constructor" or "toString" are not queues.
export const isKindName = (name: string): name is KindName => Object.hasOwn(KINDS, name);

const known = () => `known: ${KIND_NAMES.join(", ")}`;

export function kindByName(name: string): JobKind {
  if (!isKindName(name)) throw new Error(`unknown queue ${JSON.stringify(name)}; ${known()}`);
  return KINDS[name];
}

/**
 * The kinds a list names (WORKER_QUEUES, --queues), in its order without repeats; every kind when the list
 * is unset. An unknown or missing name throws naming `key` and the value.
 */
export function selectKinds(names: readonly string[] | undefined, key: string): KindName[] {
  if (names === undefined) return [...KIND_NAMES];
  const unknown = names.find((n) => !isKindName(n));
  if (unknown !== undefined) throw new Error(`${key}: unknown queue ${JSON.stringify(unknown)} (${known()})`);
  if (!names.length) throw new Error(`${key}: no queue named (${known()})`);
  return [...new Set(names as KindName[])];
}
