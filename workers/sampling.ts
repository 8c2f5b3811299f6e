// Which share of each job kind's traces is recorded, and when a span is kept anyway. The kinds declare
// their defaults (queues/kind.ts `tracing`); TRACE_SAMPLING overrides them per queue or per queue:job, and
// "*" overrides every default at once. Precedence, most specific first: TRACE_SAMPLING queue:job, queue,
// "*"; then the kind's job entry, its "*"; then 1.
import { KIND_NAMES, KINDS, isKindName } from "../queues/registry.ts";

export interface TraceSampling {
  /** Head-sampling ratio of the job's trace, 0..1. */
  readonly ratio: number;
  /** An attempt running longer is kept even when its trace was not sampled. */
  readonly slowMs: number;
}

export type SamplingPlan = (queue: string, jobName: string) => TraceSampling;

export class SamplingConfigError extends Error {
  override name = "SamplingConfigError";
}

/** The plan for TRACE_SAMPLING; an entry naming no queue throws naming the key and the entry. */
export function samplingPlan(overrides: Readonly<Record<string, number>> = {}): SamplingPlan {
  for (const key of Object.keys(overrides)) {
    const queue = key.split(":")[0]!;
    if (queue === "*" && key !== "*") throw new SamplingConfigError(`TRACE_SAMPLING: "*" stands for every job and takes no job name (got ${JSON.stringify(key)})`);
    if (queue !== "*" && !isKindName(queue)) {
      throw new SamplingConfigError(`TRACE_SAMPLING: unknown queue ${JSON.stringify(queue)} in ${JSON.stringify(key)} (known: ${KIND_NAMES.join(", ")})`);
    }
  }
  return (queue, jobName) => {
    // A queue that is no kind of ours (a test's own kind) gets the plain defaults.
    const tracing = isKindName(queue) ? KINDS[queue].tracing : undefined;
    const ratio = overrides[`${queue}:${jobName}`] ?? overrides[queue] ?? overrides["*"] ?? tracing?.sample?.[jobName] ?? tracing?.sample?.["*"] ?? 1;
    return { ratio, slowMs: tracing?.slowMs ?? Infinity };
  };
}
