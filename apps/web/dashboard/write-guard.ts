// The one check every write endpoint of the dashboard makes before it acts.
import type { Request, Response } from "express";

/**
 * A browser attaches basic-auth credentials to cross-site form posts too: a write must come as JSON
 * (which a cross-site page cannot send without a CORS preflight we never grant) and, when the browser
 * names an origin, from this host.
 */
export function sameOriginJson(req: Request, res: Response): boolean {
  if (!req.is("application/json")) {
    res.status(415).json({ error: "send the request as application/json" });
    return false;
  }
  const origin = req.headers.origin;
  if (origin !== undefined && hostOf(origin) !== req.headers.host) {
    res.status(403).json({ error: `cross-origin request from ${origin} refused` });
    return false;
  }
  return true;
}

/** The host of an Origin header; undefined for an opaque ("null") or malformed one. */
function hostOf(origin: string): string | undefined {
  try {
    return new URL(origin).host || undefined;
  } catch {
    // A malformed Origin is refused like a foreign one.
    return undefined;
  }
}
