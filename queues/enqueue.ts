// The one way work enters the fleet: validate, attach the parent's trace context (a job's ctx.trace, a
// producer's span), add with the kind's deterministic id and default options.
import type { Job, JobsOptions } from "bullmq";
import type { Context } from "@opentelemetry/api";
import type { Fleet } from "./fleet.ts";
import { parsePayload, type JobKind, type PayloadOf } from "./kind.ts";
import { withTrace } from "./trace-context.ts";

export async function enqueue<K extends JobKind>(
  fleet: Fleet,
  kind: K,
  payload: PayloadOf<K> | Record<string, unknown>,
  opts: JobsOptions = {},
  parent?: Context,
): Promise<Job> {
  const data = parsePayload(kind, payload);
  const jobId = opts.jobId ?? kind.jobId(data);
  return fleet.queue(kind).add(kind.jobName(data), withTrace(data as object, parent), { ...kind.jobOptions, ...opts, ...(jobId ? { jobId } : {}) });
}

/** A FlowJob node for `kind`, validated like enqueue(); children are attached by the caller. */
export function flowNode<K extends JobKind>(fleet: Pick<Fleet, "prefix">, kind: K, payload: PayloadOf<K> | Record<string, unknown>, opts: JobsOptions = {}, parent?: Context) {
  const data = parsePayload(kind, payload);
  const jobId = kind.jobId(data);
  return {
    name: kind.jobName(data),
    queueName: kind.name,
    prefix: fleet.prefix,
    data: withTrace(data as object, parent),
    opts: { ...kind.jobOptions, ...opts, ...(jobId ? { jobId } : {}) },
  };
}
