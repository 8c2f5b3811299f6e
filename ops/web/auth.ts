// Basic or bearer authentication with constant-time comparison. Credentials come from config; the
// comparison hashes both sides first so timingSafeEqual sees equal lengths and leaks no length.
import { createHash, timingSafeEqual } from "node:crypto";
import type { NextFunction, Request, Response } from "express";

export interface Credentials {
  user?: string;
  password?: string;
  token?: string;
}

const digest = (s: string) => createHash("sha256").update(s).digest();
const same = (a: string, b: string) => timingSafeEqual(digest(a), digest(b));

export function checkAuthorization(header: string | undefined, creds: Credentials): boolean {
  if (!header) return false;
  const [scheme, value = ""] = header.split(" ", 2);
  if (scheme?.toLowerCase() === "bearer" && creds.token) return same(value.trim(), creds.token);
  if (scheme?.toLowerCase() === "basic" && creds.user && creds.password) {
    const decoded = Buffer.from(value.trim(), "base64").toString("utf8");
    const i = decoded.indexOf(":");
    if (i < 0) return false;
    // Evaluate both comparisons always: no early exit on a wrong user name.
    const userOk = same(decoded.slice(0, i), creds.user);
    const passOk = same(decoded.slice(i + 1), creds.password);
    return userOk && passOk;
  }
  return false;
}

export function requireAuth(creds: Credentials) {
  return (req: Request, res: Response, next: NextFunction) => {
    if (checkAuthorization(req.headers.authorization, creds)) return next();
    res.setHeader("WWW-Authenticate", 'Basic realm="ta-fleet", charset="UTF-8"');
    res.status(401).json({ error: "authentication required" });
  };
}

export const isLoopback = (host: string) => host === "localhost" || host === "::1" || /^127\./.test(host);
