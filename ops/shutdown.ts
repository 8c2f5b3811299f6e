// Stopping a process on SIGINT/SIGTERM or a closed stdout (EPIPE: whoever read the output is gone). Services
// register closers (run last registered first, each attempted, within one time budget); one-shot CLIs get an
// AbortSignal and close what they opened themselves. Either way a second signal exits at once, and the
// process ends within a bound even when a closer or a leftover handle hangs.
import { pino } from "pino";
import type { Logger } from "./logger.ts";

type Closer = { name: string; close: () => Promise<unknown> };

const SIGNALS = { SIGINT: 130, SIGTERM: 143 } as const;
type Signal = keyof typeof SIGNALS;
/** What a process killed by SIGPIPE reports; a CLI whose reader went away exits with it. */
export const STDOUT_CLOSED_CODE = 141;
// Every closer gets at least this long, even when an earlier one used up the budget.
const MIN_CLOSE_MS = 1_000;
// How long a process that is done may take to drain its log writes and exit by itself.
const LINGER_MS = 1_000;

/**
 * Ends the process now. pino flushes its stream synchronously in an 'exit' listener, and sonic-boom 4
 * retries a write to a closed pipe forever — blocking signals too — so an exit that cannot wait for the
 * log drops its unwritten lines instead.
 */
function exitNow(code: number, log?: Logger): never {
  const stream = log ? (log as unknown as Record<symbol, { flushSync?: () => void } | undefined>)[pino.symbols.streamSym] : undefined;
  if (stream?.flushSync) {
    stream.flushSync = () => {
      // Deliberately nothing (see above): the unwritten lines are dropped rather than block the exit.
    };
  }
  process.exit(code);
}

/**
 * Ends the process once nothing is left to do, which lets the log finish its pending writes (an EPIPE then
 * silences it instead of hanging the exit); a handle someone forgot to close delays it by LINGER_MS at most.
 */
function exitWhenIdle(code: number, log?: Logger): void {
  process.exitCode = code;
  setTimeout(() => exitNow(code, log), LINGER_MS).unref();
}

/** Calls `stop` on the first SIGINT/SIGTERM or EPIPE on stdout; a signal after that exits at once. */
function onInterrupt(stop: (reason: Signal | "stdout closed", code: number) => void, stopping: () => boolean, log?: Logger): void {
  for (const signal of Object.keys(SIGNALS) as Signal[]) {
    process.on(signal, () => {
      if (!stopping()) return stop(signal, SIGNALS[signal]);
      log?.warn({ signal }, "second signal: exiting now");
      exitNow(SIGNALS[signal], log);
    });
  }
  // Writes after this fail too: the handler stays, so they are not reported as uncaught errors.
  process.stdout.on("error", (err: NodeJS.ErrnoException) => {
    if (err.code !== "EPIPE") throw err;
    if (!stopping()) stop("stdout closed", STDOUT_CLOSED_CODE);
  });
}

/**
 * `oneShot`: a command whose own output says how it ended (migrate, import); its stop is routine, so the
 * "shutting down" / "bye" lines are debug. A service's stop is news, logged at info.
 */
export function installShutdown(log: Logger, opts: { timeoutMs?: number; oneShot?: boolean } = {}) {
  const closers: Closer[] = [];
  const budgetMs = opts.timeoutMs ?? 45_000;
  const lifecycle = opts.oneShot ? "debug" : "info";
  let stopping: Promise<void> | undefined;
  let exitCode = 0;

  async function stop(reason: string): Promise<void> {
    log[lifecycle]({ reason }, "shutting down");
    const deadline = Date.now() + budgetMs;
    for (const c of [...closers].reverse()) {
      const ms = Math.max(deadline - Date.now(), MIN_CLOSE_MS);
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<"timeout">((r) => (timer = setTimeout(r, ms, "timeout")));
      const outcome = await Promise.race([Promise.resolve().then(c.close), timedOut])
        .catch((err: Error) => log.error({ err: err.message, closer: c.name }, "close failed"))
        .finally(() => clearTimeout(timer));
      if (outcome === "timeout") log.error({ closer: c.name, ms }, "close timed out; going on");
    }
    log[lifecycle]("bye");
    exitWhenIdle(exitCode, log);
  }

  /** Stops the process (once; a later call can only raise the exit code, as when a failure follows a signal). */
  const shutdown = (reason: string, code = 0): Promise<void> => {
    exitCode = Math.max(exitCode, code);
    return (stopping ??= stop(reason));
  };
  // A service asked to stop has done nothing wrong: a signal or a vanished reader exits 0.
  onInterrupt((reason) => void shutdown(reason), () => stopping !== undefined, log);
  return {
    add(name: string, close: () => Promise<unknown>) {
      closers.push({ name, close });
    },
    shutdown,
  };
}

/**
 * For one-shot CLIs without a closer registry: the first SIGINT/SIGTERM or a closed stdout aborts `signal`,
 * so the command stops waiting, closes what it opened and returns; `exit` then ends the process with the
 * command's code, or 128 + the signal number (141 for a closed stdout) when it was interrupted. A command
 * that does not return within `graceMs` of the interruption is ended anyway.
 */
export function cliInterrupts(opts: { log?: Logger; graceMs?: number } = {}) {
  const ac = new AbortController();
  let interrupted: number | undefined;
  onInterrupt(
    (reason, code) => {
      interrupted = code;
      process.exitCode = code;
      ac.abort(new Error(reason === "stdout closed" ? "stdout closed" : `interrupted by ${reason}`));
      setTimeout(() => exitNow(code, opts.log), opts.graceMs ?? 10_000).unref();
    },
    () => ac.signal.aborted,
    opts.log,
  );
  return {
    signal: ac.signal,
    exit(code: number): void {
      exitWhenIdle(interrupted ?? code, opts.log);
    },
  };
}
