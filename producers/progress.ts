// `--wait`: follow a job until it finishes — a daily-refresh run's root (drawing a progress bar over the
// run's jobs, known in advance: the deterministic ids of every asset's steps), a sweep, an LLM task.
import { setTimeout as sleep } from "node:timers/promises";
import { Job, type Queue } from "bullmq";
import type { Fleet } from "../queues/fleet.ts";
import { assetJobIds, assetNodeId, runKey, type RunKey } from "../queues/flows/daily-refresh.ts";
import { failureText, strategyLabel, strategyStep, type RunSummary } from "../queues/kinds/flow.ts";
import { flowKind, stageKind } from "../queues/registry.ts";

export interface WaitOptions {
  timeoutMs: number;
  out?: NodeJS.WriteStream;
  intervalMs?: number;
  /** Stops waiting (the job keeps running); the wait rejects with the signal's reason. */
  signal?: AbortSignal;
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

export interface Finished {
  state: "completed" | "failed";
  job: Job;
}

/**
 * Polls until job `id` has finished; `onPending` runs after each look that found it unfinished (progress).
 * The state is read first and the job only once that state is final: read the other way round, a job that
 * finishes between the two reads looks completed without its return value. A final state does not revert,
 * except for a failed job retried in between, which has no finishedOn any more and is waited for again.
 */
export async function waitForJob(queue: Queue, id: string, what: string, opts: WaitOptions & { onPending?: () => Promise<void> }): Promise<Finished> {
  const deadline = Date.now() + opts.timeoutMs;
  for (;;) {
    opts.signal?.throwIfAborted();
    const state = await queue.getJobState(id);
    if (state === "completed" || state === "failed") {
      const job = await Job.fromId(queue, id);
      if (!job) throw new Error(`${what} was removed right after it ${state}`);
      if (job.finishedOn !== undefined) {
        if (opts.out?.isTTY) opts.out.write("\n");
        return { state, job };
      }
    }
    await opts.onPending?.();
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what} after ${opts.timeoutMs} ms (it keeps running)`);
    await sleep(opts.intervalMs ?? 250, undefined, opts.signal ? { signal: opts.signal } : {}).catch((err: unknown) => {
      throw opts.signal?.reason ?? err;
    });
  }
}

export async function waitForRun(fleet: Fleet, rootJobId: string, assets: string[], k: Pick<RunKey, "asOf" | "rerun">, opts: WaitOptions): Promise<RunSummary> {
  const out = opts.out ?? process.stderr;
  const queues = { [stageKind.name]: fleet.queue(stageKind), [flowKind.name]: fleet.queue(flowKind) };
  const key = runKey(k.asOf, assets, k.rerun);
  const steps = assets.flatMap((a) => [...assetJobIds(a, key), { queue: flowKind.name, id: assetNodeId(a, key), step: "summary" }]);
  const { state, job } = await waitForJob(fleet.queue(flowKind), rootJobId, `run ${rootJobId}`, {
    ...opts,
    out,
    onPending: async () => {
      const states = await Promise.all(steps.map((s) => queues[s.queue]!.getJobState(s.id)));
      const done = states.filter((s) => s === "completed" || s === "failed").length;
      progressLine(out, done, steps.length, "steps", `, ${states.filter((s) => s === "failed").length} failed`);
    },
  });
  if (state === "failed") throw new Error(`run ${rootJobId} failed: ${job.failedReason}`);
  return job.returnvalue as RunSummary;
}

/**
 * One line per asset, then one per failure: where it failed and its root cause with the job it happened
 * in (every failed strategy of a partial asset, not only the first).
 */
export function formatSummary(s: RunSummary): string {
  const lines = [`run ${s.runId} (as of ${s.asOf}): ${s.status}`];
  for (const a of s.assets) {
    const strat = a.strategies?.length ? ` (${a.strategies.filter((x) => x.status === "completed").length}/${a.strategies.length} strategies)` : "";
    const quality = a.quality ? ` quality ${a.quality.score.toFixed(1)} (${a.quality.status})` : "";
    const sharpes = a.strategies?.filter((x) => typeof x.sharpe === "number").map((x) => `${strategyLabel(x)} sharpe ${x.sharpe!.toFixed(2)}`).join(", ");
    const skipped = !a.failedAt && a.reason ? `: ${a.reason}` : "";
    lines.push(`  ${a.asset.padEnd(10)} ${a.status}${strat}${quality}${sharpes ? `; ${sharpes}` : ""}${skipped}`);
    const failedStrategies = a.strategies?.filter((x) => x.status === "failed") ?? [];
    const failures = failedStrategies.length ? failedStrategies.map((x) => [strategyStep(x), failureText(x)]) : a.failedAt ? [[a.failedAt, failureText(a)]] : [];
    for (const [at, why] of failures) lines.push(`    failed at ${at}: ${why}`);
  }
  return lines.join("\n");
}
