import type { Fleet } from "../../queues/fleet.ts";
import type { flowKind } from "../../queues/registry.ts";
import type { Processor } from "../runtime.ts";
import { summariseAsset } from "./asset.ts";
import { runGate, type GateDeps } from "./gate.ts";
import { summariseRun } from "./run.ts";

export function flowProcessor(deps: GateDeps & { fleet: Fleet }): Processor<typeof flowKind> {
  return async (p, ctx) => {
    switch (p.node) {
      case "run":
        return summariseRun(p, ctx, deps.fleet);
      case "asset":
        return summariseAsset(p, ctx, deps.fleet);
      case "gate":
        return runGate(p, ctx, deps);
    }
  };
}
