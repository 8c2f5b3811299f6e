// The web process's gate: authentication (basic/bearer, constant-time, refusal as 401 with a challenge),
// the credentials decision at start-up (no credentials on a public address is refused), and the
// dashboard's parameter validation (a bad value names the parameter and the value).
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import express from "express";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { authenticate, DEFAULT_BOARD_USER, InsecureBindError, requireAuth, resolveCredentials } from "../../apps/web/auth.ts";
import { P, ParamError, Q, parseParams } from "../../apps/web/dashboard/params.ts";
import { listen } from "../helpers/browser.ts";

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;
const creds = { user: "ops", password: "s3cret-password", token: "t".repeat(32) };

function paramError(fn: () => unknown): ParamError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ParamError) return err;
    throw err;
  }
  throw new Error("expected a ParamError");
}

describe("authenticate", () => {
  it("accepts the configured basic user and password, or the bearer token, naming the principal", () => {
    expect(authenticate(basic("ops", "s3cret-password"), creds)).toBe("ops");
    expect(authenticate(`Bearer ${"t".repeat(32)}`, creds)).toBe("bearer");
    expect(authenticate(`bearer  ${"t".repeat(32)}`, creds)).toBe("bearer");
  });

  it("refuses a wrong user, a wrong password, a wrong token, malformed or missing headers", () => {
    for (const h of [basic("other", "s3cret-password"), basic("ops", "wrong"), basic("ops", "s3cret-password-and-more"), `Bearer ${"t".repeat(31)}`, "Basic !!!", "Basic " + Buffer.from("no-colon").toString("base64"), "Digest x", "", undefined]) {
      expect(authenticate(h, creds), String(h)).toBeUndefined();
    }
    // A scheme that is not configured is refused even with the right secret.
    expect(authenticate(basic("ops", "s3cret-password"), { token: creds.token })).toBeUndefined();
    expect(authenticate(`Bearer ${creds.token}`, { user: "ops", password: "s3cret-password" })).toBeUndefined();
  });
});

describe("requireAuth over HTTP", () => {
  let server: Server;
  let base: string;
  beforeAll(async () => {
    const app = express();
    app.get("/private", requireAuth(creds), (_req, res) => void res.json({ principal: res.locals.principal }));
    server = await listen(app);
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => (server.close(() => r()), server.closeAllConnections())));

  it("answers 401 with a Basic challenge, and lets the right credentials through", async () => {
    for (const headers of [{}, { authorization: basic("ops", "nope") }] as Array<Record<string, string>>) {
      const res = await fetch(`${base}/private`, { headers });
      expect(res.status).toBe(401);
      expect(res.headers.get("www-authenticate")).toMatch(/^Basic realm="ta-fleet"/);
      expect(await res.json()).toEqual({ error: "authentication required" });
    }
    const ok = await fetch(`${base}/private`, { headers: { authorization: basic("ops", "s3cret-password") } });
    expect(await ok.json()).toEqual({ principal: "ops" });
  });
});

describe("resolveCredentials", () => {
  const none = { BOARD_USER: undefined, BOARD_PASSWORD: undefined, BOARD_TOKEN: undefined };

  it("refuses a non-loopback address without credentials, naming it", () => {
    for (const host of ["0.0.0.0", "10.1.2.3", "::", "fleet.internal"]) {
      expect(() => resolveCredentials({ ...none, WEB_HOST: host })).toThrow(InsecureBindError);
      expect(() => resolveCredentials({ ...none, WEB_HOST: host })).toThrow(`refusing to listen on ${host} without authentication`);
    }
  });

  it("generates a password for loopback, and uses configured credentials anywhere", () => {
    for (const host of ["127.0.0.1", "localhost", "::1"]) {
      expect(resolveCredentials({ ...none, WEB_HOST: host }, () => "generated")).toEqual({ credentials: { user: DEFAULT_BOARD_USER, password: "generated" }, generatedPassword: "generated" });
    }
    expect(resolveCredentials({ ...none, BOARD_PASSWORD: "pw-12345678", WEB_HOST: "0.0.0.0" })).toEqual({ credentials: { user: DEFAULT_BOARD_USER, password: "pw-12345678", token: undefined } });
    expect(resolveCredentials({ ...none, BOARD_TOKEN: creds.token, WEB_HOST: "0.0.0.0" }).credentials.token).toBe(creds.token);
    expect(resolveCredentials({ BOARD_USER: "ops", BOARD_PASSWORD: "pw-12345678", BOARD_TOKEN: undefined, WEB_HOST: "0.0.0.0" }).credentials.user).toBe("ops");
  });
});

describe("dashboard parameters", () => {
  it("applies defaults and converts numbers", () => {
    expect(parseParams(Q.series, {})).toEqual({ window: 60, bucket: 60 });
    expect(parseParams(Q.series, { window: "1440", bucket: "300" })).toEqual({ window: 1440, bucket: 300 });
    expect(parseParams(Q.alerts, { state: "open" })).toEqual({ state: "open", limit: 100 });
    expect(parseParams(P.trace, { traceId: "0123456789abcdef0123456789abcdef" })).toEqual({ traceId: "0123456789abcdef0123456789abcdef" });
    expect(parseParams(Q.walkForwards, { symbol: "BTC-USD" })).toEqual({ limit: 50, symbol: "BTC-USD" });
    expect(parseParams(P.walkForward, { walkForwardId: "BTC-USD-ema_cross-wf-87798faae3" })).toEqual({ walkForwardId: "BTC-USD-ema_cross-wf-87798faae3" });
  });

  it.each([
    [Q.series, { window: "abc" }, "window", "abc"],
    [Q.series, { window: "2" }, "window", "2"],
    [Q.series, { window: "1.5" }, "window", "1.5"],
    [Q.series, { window: "10080", bucket: "10" }, "bucket", "10"],
    [Q.runs, { limit: ["1", "2"] }, "limit", ["1", "2"]],
    [Q.runs, { limit: "20", sort: "desc" }, "sort", "desc"],
    [Q.alerts, { state: "closed" }, "state", "closed"],
    [Q.backtests, { symbol: "BTC USD" }, "symbol", "BTC USD"],
    [Q.backtestPage, { run: "-1" }, "run", "-1"],
    [P.trace, { traceId: "XYZ" }, "traceId", "XYZ"],
    [P.run, { runId: "a/b" }, "runId", "a/b"],
    [P.alert, { id: "0" }, "id", "0"],
    [Q.walkForwards, { limit: "201" }, "limit", "201"],
    [Q.walkForwardsPage, { symbol: "a b" }, "symbol", "a b"],
    [P.walkForward, { walkForwardId: "BTC-USD-ema_cross-wf-XYZ" }, "walkForwardId", "BTC-USD-ema_cross-wf-XYZ"],
    [P.walkForward, { walkForwardId: "../etc-wf-0123456789" }, "walkForwardId", "../etc-wf-0123456789"],
  ] as const)("rejects %#: names the parameter and the value", (schema, input, parameter, value) => {
    const err = paramError(() => parseParams(schema, input));
    expect(err.parameter).toBe(parameter);
    expect(err.value).toEqual(value);
    expect(err.message).toContain(`${parameter}=${JSON.stringify(value)}`);
  });
});
