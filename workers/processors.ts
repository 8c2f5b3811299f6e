// Which processor serves which queue. Kinds whose processors arrive with later work are simply absent.
import type { KindName } from "../queues/registry.ts";
import { activeSignalIds } from "../db/repos/signals.ts";
import type { WorkerDeps } from "./deps.ts";
import { flowProcessor } from "./flow/index.ts";
import { maintenanceProcessor } from "./maintenance/index.ts";
import { stageProcessor } from "./stage/processor.ts";
import { signalProcessor } from "./signal/processor.ts";
import { backtestProcessor } from "./backtest/processor.ts";
import { llmDepsFromConfig } from "./llm/deps.ts";
import { llmProcessor } from "./llm/processor.ts";
import type { Processor } from "./runtime.ts";
import type { JobKind } from "../queues/kind.ts";

export function buildProcessors(deps: WorkerDeps): Partial<Record<KindName, Processor<JobKind>>> {
  return {
    flow: flowProcessor({ fleet: deps.fleet, activeSignalIds: () => activeSignalIds(deps.pool) }) as Processor<JobKind>,
    maintenance: maintenanceProcessor(deps) as Processor<JobKind>,
    stage: stageProcessor({ ...deps, emaTimeframes: deps.cfg.EMA_TIMEFRAMES }) as Processor<JobKind>,
    signal: signalProcessor(deps) as Processor<JobKind>,
    backtest: backtestProcessor(deps) as Processor<JobKind>,
    llm: llmProcessor(llmDepsFromConfig(deps)) as Processor<JobKind>,
  };
}
