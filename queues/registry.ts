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

export function kindByName(name: string): JobKind {
  const kind = (KINDS as Record<string, JobKind>)[name];
  if (!kind) throw new Error(`unknown queue ${JSON.stringify(name)}; known: ${KIND_NAMES.join(", ")}`);
  return kind;
}
