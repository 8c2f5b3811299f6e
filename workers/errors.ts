// Retry is the default; a processor makes permanence explicit by throwing PermanentError (bad input,
// missing data that no retry will create). The runtime turns it into BullMQ's UnrecoverableError.
export class PermanentError extends Error {
  override name = "PermanentError";
}

/**
 * An attempt ran past its kind's timeoutMs. Retryable: the runtime hands it to BullMQ as it is, so the
 * kind's attempts and backoff apply; it is also the reason the processor's AbortSignal aborts with.
 */
export class JobTimeoutError extends Error {
  override name = "JobTimeoutError";
  constructor(
    readonly kind: string,
    readonly timeoutMs: number,
    readonly attempt: number,
  ) {
    super(`${kind} job timed out after ${timeoutMs} ms (attempt ${attempt})`);
  }
}

/** The worker's shutdown bound passed with the attempt still running: it is stopped and handed back. */
export class WorkerShutdownError extends Error {
  override name = "WorkerShutdownError";
  constructor(readonly shutdownMs: number) {
    super(`worker shutting down: the job outlived the ${shutdownMs} ms shutdown bound`);
  }
}
