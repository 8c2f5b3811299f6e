// Which processor serves which queue: one entry per kind of queues/registry.ts. The type requires every
// kind, so a kind declared without a processor fails the build instead of idling in production.
import type { JobKind } from "../queues/kind.ts";
import type { KindName, KINDS } from "../queues/registry.ts";
import { activeSignalIds, signalNames } from "../db/repos/signals.ts";
import type { WorkerDeps } from "./deps.ts";
import { flowProcessor } from "./flow/index.ts";
import { maintenanceProcessor } from "./maintenance/index.ts";
import { stageProcessor } from "./stage/processor.ts";
import { signalProcessor } from "./signal/processor.ts";
import { backtestProcessor } from "./backtest/processor.ts";
import { llmDepsFromConfig } from "./llm/deps.ts";
import { llmProcessor } from "./llm/processor.ts";
import type { Processor } from "./runtime.ts";

type Processors = { [K in KindName]: Processor<(typeof KINDS)[K]> };

export function buildProcessors(deps: WorkerDeps): Record<KindName, Processor<JobKind>> {
  const llm = llmDepsFromConfig(deps);
  const brief = { mode: deps.cfg.RESEARCH_BRIEF, providersConfigured: llm.providers.length > 0 };
  const processors: Processors = {
    flow: flowProcessor({ fleet: deps.fleet, activeSignalIds: () => activeSignalIds(deps.pool), signalNames: (ids) => signalNames(deps.pool, ids), brief }),
    maintenance: maintenanceProcessor(deps),
    stage: stageProcessor({ ...deps, emaTimeframes: deps.cfg.EMA_TIMEFRAMES }),
    signal: signalProcessor(deps),
    backtest: backtestProcessor(deps),
    llm: llmProcessor(llm),
  };
  // Each entry is checked against its own kind above; callers look them up by queue name.
  return processors as Record<KindName, Processor<JobKind>>;
}
