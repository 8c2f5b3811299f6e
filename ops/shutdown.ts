// Graceful shutdown on SIGINT/SIGTERM: run the registered closers (last registered first), each bounded,
// every one attempted even if an earlier one fails, then exit. A second signal exits at once.
import type { Logger } from "./logger.ts";

type Closer = { name: string; close: () => Promise<unknown> };

export function installShutdown(log: Logger, opts: { timeoutMs?: number } = {}) {
  const closers: Closer[] = [];
  let shuttingDown = false;
  const shutdown = async (reason: string, code = 0) => {
    if (shuttingDown) {
      log.warn({ reason }, "second signal: exiting now");
      process.exit(code || 130);
    }
    shuttingDown = true;
    log.info({ reason }, "shutting down");
    for (const c of [...closers].reverse()) {
      const timer = new Promise((r) => setTimeout(r, opts.timeoutMs ?? 45_000).unref());
      await Promise.race([c.close(), timer]).catch((err: Error) => log.error({ err: err.message, closer: c.name }, "close failed"));
    }
    log.info("bye");
    process.exit(code);
  };
  process.on("SIGINT", () => void shutdown("SIGINT"));
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  return {
    add(name: string, close: () => Promise<unknown>) {
      closers.push({ name, close });
    },
    shutdown,
  };
}
