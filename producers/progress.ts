// `--wait`: follow a daily-refresh run until its root reaches a final state, drawing a progress bar
// over the run's jobs (known in advance: the deterministic ids of every asset's steps).
import { Job } from "bullmq";
import type { Fleet } from "../queues/fleet.ts";
import { assetJobIds, assetNodeId, type RunKey } from "../queues/flows/daily-refresh.ts";
import type { RunSummary } from "../queues/kinds/flow.ts";
import { flowKind, stageKind } from "../queues/registry.ts";

export interface WaitOptions {
  timeoutMs: number;
  out?: NodeJS.WriteStream;
  intervalMs?: number;
}

function bar(done: number, total: number, width = 30): string {
  const filled = total ? Math.min(width, Math.round((done / total) * width)) : 0;
  return `[${"#".repeat(filled)}${".".repeat(width - filled)}] ${done}/${total}`;
}

const lastLines = new WeakMap<NodeJS.WriteStream, string>();

/** Redraws a progress bar in place on a TTY; prints a line per change otherwise. */
export function progressLine(out: NodeJS.WriteStream, done: number, total: number, what: string, extra = ""): void {
  const line = `${bar(done, total)} ${what}${extra}`;
  if (lastLines.get(out) === line) return;
  lastLines.set(out, line);
  out.write(out.isTTY ? `\r${line}` : `${line}\n`);
}

export async function waitForRun(fleet: Fleet, rootJobId: string, assets: string[], k: Pick<RunKey, "asOf" | "rerun">, opts: WaitOptions): Promise<RunSummary> {
  const out = opts.out ?? process.stderr;
  const flowQ = fleet.queue(flowKind);
  const queues = { [stageKind.name]: fleet.queue(stageKind), [flowKind.name]: flowQ };
  const steps = assets.flatMap((a) => [...assetJobIds(a, k), { queue: flowKind.name, id: assetNodeId(a, k), step: "summary" }]);
  const deadline = Date.now() + opts.timeoutMs;
  for (;;) {
    const root = await Job.fromId(flowQ, rootJobId);
    const state = await root?.getState();
    if (root && (state === "completed" || state === "failed")) {
      if (out.isTTY) out.write("\n");
      if (state === "failed") throw new Error(`run ${rootJobId} failed: ${root.failedReason}`);
      return root.returnvalue as RunSummary;
    }
    const states = await Promise.all(steps.map(async (s) => (await Job.fromId(queues[s.queue]!, s.id))?.getState()));
    const done = states.filter((s) => s === "completed" || s === "failed").length;
    progressLine(out, done, steps.length, "steps", `, ${states.filter((s) => s === "failed").length} failed`);
    if (Date.now() > deadline) throw new Error(`gave up waiting for run ${rootJobId} after ${opts.timeoutMs} ms (it keeps running)`);
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 250));
  }
}

export function formatSummary(s: RunSummary): string {
  const lines = [`run ${s.runId} (as of ${s.asOf}): ${s.status}`];
  for (const a of s.assets) {
    const extra = a.failedAt ? ` at ${a.failedAt}: ${a.reason ?? ""}` : a.reason ? `: ${a.reason}` : "";
    const strat = a.strategies?.length ? ` (${a.strategies.filter((x) => x.status === "completed").length}/${a.strategies.length} strategies)` : "";
    const quality = a.quality ? ` quality ${a.quality.score.toFixed(1)} (${a.quality.status})` : "";
    const sharpes = a.strategies?.filter((x) => typeof x.sharpe === "number").map((x) => `#${x.signalId} sharpe ${x.sharpe!.toFixed(2)}`).join(", ");
    lines.push(`  ${a.asset.padEnd(10)} ${a.status}${strat}${quality}${sharpes ? `; ${sharpes}` : ""}${extra}`);
  }
  return lines.join("\n");
}
