// The run root: always runs (tolerated edges), and records the per-asset summary.
import type { Fleet } from "../../queues/fleet.ts";
import { assetNodeId } from "../../queues/flows/daily-refresh.ts";
import type { PayloadOf } from "../../queues/kind.ts";
import type { AssetSummary, RunSummary } from "../../queues/kinds/flow.ts";
import type { flowKind } from "../../queues/registry.ts";
import type { JobContext } from "../runtime.ts";
import { childOutcomes, rootCause } from "./children.ts";

type RunPayload = Extract<PayloadOf<typeof flowKind>, { node: "run" }>;

export async function summariseRun(p: RunPayload, ctx: JobContext, fleet: Fleet): Promise<RunSummary> {
  const byId = new Map((await childOutcomes(ctx.job)).map((o) => [o.id, o]));
  const assets: AssetSummary[] = await Promise.all(
    p.assets.map(async (asset): Promise<AssetSummary> => {
      const o = byId.get(assetNodeId(asset, p));
      if (o?.ok) return o.value as AssetSummary;
      if (!o) return { asset, status: "failed", failedAt: "summary", reason: "no summary recorded" };
      return { asset, status: "failed", failedAt: "summary", reason: o.reason!, cause: await rootCause(fleet, o, o.reason!) };
    }),
  );
  const done = assets.filter((a) => a.status === "completed" || a.status === "skipped").length;
  const status = done === assets.length ? "completed" : assets.every((a) => a.status === "failed") ? "failed" : "partial";
  return { runId: p.runId, asOf: p.asOf, status, assets };
}
