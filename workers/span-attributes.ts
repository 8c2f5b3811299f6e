// A kind's span attributes are part of its declaration (queues/kinds/*.ts, `spanAttributes`); this is the
// `attributes` option of createWorker for a kind named by string (the worker's queue list).
import type { SpanAttributes } from "../queues/kind.ts";
import { KINDS, type KindName } from "../queues/registry.ts";

/** The runtime calls it with that kind's validated payloads only. */
export function spanAttributesFor(kind: KindName): ((payload: unknown) => SpanAttributes) | undefined {
  return KINDS[kind].spanAttributes as ((payload: unknown) => SpanAttributes) | undefined;
}
