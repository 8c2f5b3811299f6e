// W3C trace context travels inside job data, so a job's span continues the producer's trace across
// processes and through flows. With no propagator registered (telemetry off) both calls are no-ops.
import { context, propagation, type Context } from "@opentelemetry/api";

export interface TraceCarrier {
  traceparent?: string;
  tracestate?: string;
}

export function currentTraceCarrier(ctx: Context = context.active()): TraceCarrier | undefined {
  const carrier: TraceCarrier = {};
  propagation.inject(ctx, carrier);
  return carrier.traceparent ? carrier : undefined;
}

export function contextFromJobData(data: unknown): Context {
  const carrier = (data as { _otel?: TraceCarrier } | null)?._otel;
  return carrier ? propagation.extract(context.active(), carrier) : context.active();
}

/** Job data = payload + the caller's trace carrier (when there is one). */
export function withTrace<T extends object>(payload: T, ctx?: Context): T & { _otel?: TraceCarrier } {
  const carrier = currentTraceCarrier(ctx);
  return carrier ? { ...payload, _otel: carrier } : payload;
}
