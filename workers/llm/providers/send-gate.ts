// The SDKs take a custom fetch: ours runs the request's beforeSend (the quota confirmation) at the moment
// the HTTP request leaves, and keeps its error so the adapter rethrows it instead of a network error.
import type { ChatRequest } from "../types.ts";

export function sendGate(req: Pick<ChatRequest, "beforeSend">) {
  let refused: unknown;
  return {
    fetch: async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
      try {
        await req.beforeSend?.();
      } catch (err) {
        refused = err;
        throw err;
      }
      return fetch(input, init);
    },
    /** Throws what beforeSend threw, if it did. */
    rethrowRefusal(): void {
      if (refused !== undefined) throw refused;
    },
  };
}

/**
 * Node loads its fetch implementation on first use (tens to hundreds of ms on a busy host). Done at worker
 * start, so the first real call is not held up between its quota check and the wire.
 */
export function warmFetch(): void {
  void fetch("data:,")
    .then((r) => r.arrayBuffer())
    .catch(() => {
      // Warming only: if it fails, the first real call pays the load time, nothing else.
    });
}
