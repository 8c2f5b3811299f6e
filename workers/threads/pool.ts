// CPU-heavy work (indicators over years of bars, backtest sweeps) runs in worker threads so the worker's
// event loop stays free to renew job locks; a blocked loop loses its lock and the job runs twice.
import { availableParallelism } from "node:os";
import { pathToFileURL } from "node:url";
import { Piscina } from "piscina";

export interface ComputePool {
  /** Runs the named export of the task module on `input` in a thread; aborts with `signal`. */
  run<I, O>(task: string, input: I, signal?: AbortSignal): Promise<O>;
  close(): Promise<void>;
}

/** `taskModule`: path of a TypeScript module whose named exports are the tasks. */
export function createComputePool(opts: { taskModule: string; threads?: number; idleTimeoutMs?: number }): ComputePool {
  const pool = new Piscina({
    filename: new URL("./thread-entry.mjs", import.meta.url).href,
    workerData: { taskModule: pathToFileURL(opts.taskModule).href },
    maxThreads: opts.threads ?? Math.max(1, availableParallelism() - 1),
    minThreads: 0,
    // A lab's compute comes in bursts minutes apart (refresh runs, sweeps). A thread that exits between them
    // hands back its memory only in part (RSS steps by tens of MB per start and exit) and the next burst pays
    // its start again, so an idle thread lives long enough to span the gaps of a busy period.
    idleTimeout: opts.idleTimeoutMs ?? 15 * 60_000,
    // The entry registers tsx itself; inherited loader flags would only be applied twice.
    execArgv: process.execArgv.filter((a, i, all) => !a.includes("tsx") && !(a === "--import" && all[i + 1]?.includes("tsx"))),
  });
  let closing: Promise<void> | undefined;
  return {
    run: (task, input, signal) => pool.run({ task, input }, signal ? { signal } : {}),
    close: () => (closing ??= Promise.race([pool.close(), new Promise<void>((r) => setTimeout(r, 5_000).unref())]).then(() => pool.destroy())),
  };
}
