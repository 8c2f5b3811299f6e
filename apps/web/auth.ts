// Basic or bearer authentication with constant-time comparison. Credentials come from config; the
// comparison hashes both sides first so timingSafeEqual sees equal lengths and leaks no length.
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { NextFunction, Request, Response } from "express";
import type { Config } from "../../ops/config.ts";

export interface Credentials {
  user?: string;
  password?: string;
  token?: string;
}

const digest = (s: string) => createHash("sha256").update(s).digest();
const same = (a: string, b: string) => timingSafeEqual(digest(a), digest(b));

/** Who the request authenticated as (the basic user name, or "bearer"); undefined when it did not. */
export function authenticate(header: string | undefined, creds: Credentials): string | undefined {
  if (!header) return undefined;
  // "<scheme> <credentials>" with any run of spaces between (split(" ", 2) would drop the credentials).
  const [, scheme, value = ""] = /^(\S+)\s+(.*)$/s.exec(header) ?? [];
  if (scheme?.toLowerCase() === "bearer" && creds.token) return same(value.trim(), creds.token) ? "bearer" : undefined;
  if (scheme?.toLowerCase() === "basic" && creds.user && creds.password) {
    const decoded = Buffer.from(value.trim(), "base64").toString("utf8");
    const i = decoded.indexOf(":");
    if (i < 0) return undefined;
    // Evaluate both comparisons always: no early exit on a wrong user name.
    const userOk = same(decoded.slice(0, i), creds.user);
    const passOk = same(decoded.slice(i + 1), creds.password);
    return userOk && passOk ? creds.user : undefined;
  }
  return undefined;
}

/** Refuses unauthenticated requests (401); passes the principal on as res.locals.principal. */
export function requireAuth(creds: Credentials) {
  return (req: Request, res: Response, next: NextFunction) => {
    const principal = authenticate(req.headers.authorization, creds);
    if (principal !== undefined) {
      res.locals.principal = principal;
      return next();
    }
    res.setHeader("WWW-Authenticate", 'Basic realm="ta-fleet", charset="UTF-8"');
    res.status(401).json({ error: "authentication required" });
  };
}

export const isLoopback = (host: string) => host === "localhost" || host === "::1" || /^127\./.test(host);

export class InsecureBindError extends Error {
  override name = "InsecureBindError";
}

/** The basic-auth user when BOARD_USER is not set. */
export const DEFAULT_BOARD_USER = "admin";

export interface ResolvedCredentials {
  credentials: Credentials;
  /** No password or token was configured: this one was generated and must be handed to the operator. */
  generatedPassword?: string;
}

/**
 * The web process's credentials from config. Nothing configured: refused on a non-loopback host
 * (InsecureBindError), a generated password for the default user on loopback.
 */
export function resolveCredentials(
  cfg: Pick<Config, "BOARD_USER" | "BOARD_PASSWORD" | "BOARD_TOKEN" | "WEB_HOST">,
  generate = () => randomBytes(12).toString("base64url"),
): ResolvedCredentials {
  const user = cfg.BOARD_USER ?? DEFAULT_BOARD_USER;
  if (cfg.BOARD_PASSWORD || cfg.BOARD_TOKEN) return { credentials: { user, password: cfg.BOARD_PASSWORD, token: cfg.BOARD_TOKEN } };
  if (!isLoopback(cfg.WEB_HOST)) {
    throw new InsecureBindError(`refusing to listen on ${cfg.WEB_HOST} without authentication: set BOARD_USER/BOARD_PASSWORD or BOARD_TOKEN`);
  }
  const password = generate();
  return { credentials: { user, password }, generatedPassword: password };
}
