import type { Fleet } from "../../queues/fleet.ts";
import type { flowKind } from "../../queues/registry.ts";
import type { Processor } from "../runtime.ts";
import { summariseAsset } from "./asset.ts";
import { triggerBrief, type BriefSwitch } from "./brief-trigger.ts";
import { runGate, type GateDeps } from "./gate.ts";
import { summariseRun } from "./run.ts";

export function flowProcessor(deps: GateDeps & { fleet: Fleet; brief?: BriefSwitch }): Processor<typeof flowKind> {
  return async (p, ctx) => {
    switch (p.node) {
      case "run": {
        const run = await summariseRun(p, ctx, deps.fleet);
        // After the run is decided: the brief is a separate job the run does not wait on.
        await triggerBrief(run, p.rerun, ctx, deps.fleet, deps.brief);
        return run;
      }
      case "asset":
        return summariseAsset(p, ctx, deps.fleet);
      case "gate":
        return runGate(p, ctx, deps);
    }
  };
}
