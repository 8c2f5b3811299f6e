// Preloaded into each soak worker with `--import` (after tsx), so the worker's own code is unchanged and no
// port of it has to serve memory figures. Every SOAK_PROBE_MS it forces a full GC and appends the process's
// memory to SOAK_PROBE_FILE as a JSON line: heap after a GC is the live heap, so a growing figure is retained
// memory, not garbage that happened not to be collected yet. Plain JavaScript: the compute pool's threads
// inherit execArgv, and the parent's tsx hooks do not reach them (workers/threads/thread-entry.mjs).
import { appendFileSync } from "node:fs";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { isMainThread } from "node:worker_threads";

const file = process.env.SOAK_PROBE_FILE;
const everyMs = Number(process.env.SOAK_PROBE_MS ?? 5_000);

// Only the main thread reports: the process's memory is one figure.
if (file && isMainThread) {
  // Not --expose-gc on the command line: the compute pool's threads inherit execArgv, and Worker refuses that
  // flag. Set at run time it exposes gc() only in a context created afterwards.
  setFlagsFromString("--expose-gc");
  const gc = runInNewContext("gc");
  setInterval(() => {
    gc();
    const m = process.memoryUsage();
    appendFileSync(file, `${JSON.stringify({ t: Date.now(), rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, arrayBuffers: m.arrayBuffers })}\n`);
  }, everyMs).unref();
}
