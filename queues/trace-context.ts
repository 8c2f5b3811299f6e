// W3C trace context travels inside job data, so a job's span continues the producer's trace across
// processes and through flows. Contexts are passed explicitly (a job's ctx.trace, a producer's span): the
// fleet registers no context manager. With no propagator registered (telemetry off) both calls are no-ops.
import { context, propagation, type Context } from "@opentelemetry/api";

export interface TraceCarrier {
  traceparent?: string;
  tracestate?: string;
}

export function traceCarrier(ctx: Context): TraceCarrier | undefined {
  const carrier: TraceCarrier = {};
  propagation.inject(ctx, carrier);
  return carrier.traceparent ? carrier : undefined;
}

export function contextFromJobData(data: unknown): Context {
  const carrier = (data as { _otel?: TraceCarrier } | null)?._otel;
  return carrier ? propagation.extract(context.active(), carrier) : context.active();
}

/** Job data = payload + the parent's trace carrier (when there is one). */
export function withTrace<T extends object>(payload: T, parent?: Context): T & { _otel?: TraceCarrier } {
  const carrier = parent && traceCarrier(parent);
  return carrier ? { ...payload, _otel: carrier } : payload;
}
