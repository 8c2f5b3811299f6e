// Retry is the default; a processor makes permanence explicit by throwing PermanentError (bad input,
// missing data that no retry will create). The runtime turns it into BullMQ's UnrecoverableError.
export class PermanentError extends Error {
  override name = "PermanentError";
}

/** The processor's AbortSignal fired (shutdown, cancellation or timeout). */
export class AbortedError extends Error {
  override name = "AbortedError";
}

export function throwIfAborted(signal: AbortSignal): void {
  if (signal.aborted) throw new AbortedError(`aborted: ${String(signal.reason ?? "cancelled")}`);
}
