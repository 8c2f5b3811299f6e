// The Redis topology the REDIS_* variables describe: exactly one, complete, and errors that name the key
// without printing a secret.
import { describe, expect, it } from "vitest";
import { ConfigError, parseConfig } from "../../ops/config.ts";

const refusal = (env: Record<string, string>) => {
  try {
    parseConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.message;
    throw err;
  }
  throw new Error("accepted");
};

describe("Redis topology config", () => {
  it("nothing set → embedded; a URL (ACL user in it) → that URL", () => {
    expect(parseConfig({}).redis).toBeUndefined();
    expect(parseConfig({ REDIS_URL: "redis://app:pw-123@127.0.0.1:6379" }).redis).toBe("redis://app:pw-123@127.0.0.1:6379");
  });

  it("Sentinel and Cluster topologies, with data-node credentials, frozen", () => {
    const s = parseConfig({ REDIS_SENTINELS: "10.0.0.1:26379, [::1]:26380", REDIS_SENTINEL_MASTER: "fleet", REDIS_USERNAME: "app", REDIS_PASSWORD: "pw-123", REDIS_SENTINEL_PASSWORD: "spw" }).redis;
    expect(s).toEqual({ kind: "sentinel", sentinels: [{ host: "10.0.0.1", port: 26379 }, { host: "::1", port: 26380 }], master: "fleet", sentinelPassword: "spw", username: "app", password: "pw-123" });
    expect(Object.isFrozen(s)).toBe(true);
    expect(parseConfig({ REDIS_CLUSTER_NODES: "n1:7000,n2:7001" }).redis).toEqual({ kind: "cluster", nodes: [{ host: "n1", port: 7000 }, { host: "n2", port: 7001 }] });
  });

  it("conflicting, incomplete or invalid settings: one error naming the key, secrets redacted", () => {
    expect(refusal({ REDIS_URL: "redis://x:hunter2pw@h:1", REDIS_CLUSTER_NODES: "a:1" })).toBe(
      'invalid environment: REDIS_CLUSTER_NODES: conflicts with REDIS_URL: set exactly one of REDIS_URL, REDIS_SENTINELS, REDIS_CLUSTER_NODES (got "a:1")',
    );
    expect(refusal({ REDIS_SENTINELS: "a:1" })).toMatch(/^invalid environment: REDIS_SENTINEL_MASTER: required with REDIS_SENTINELS .*\(missing\)$/);
    expect(refusal({ REDIS_SENTINELS: "a:70000", REDIS_SENTINEL_MASTER: "m" })).toMatch(/^invalid environment: REDIS_SENTINELS: must be comma-separated host:port/);
    expect(refusal({ REDIS_URL: "redis://h:1", REDIS_PASSWORD: "hunter2pw" })).toBe(
      "invalid environment: REDIS_PASSWORD: only with REDIS_SENTINELS or REDIS_CLUSTER_NODES (a REDIS_URL carries its own user:password@) (got [redacted])",
    );
    expect(refusal({ REDIS_SENTINEL_PASSWORD: "hunter2pw" })).toBe("invalid environment: REDIS_SENTINEL_PASSWORD: only with REDIS_SENTINELS (got [redacted])");
    expect(refusal({ REDIS_CLUSTER_NODES: "a:1", QUEUE_PREFIX: "bull" })).toBe('invalid environment: QUEUE_PREFIX: needs a non-empty {hash tag} with REDIS_CLUSTER_NODES (got "bull")');
    expect(refusal({ REDIS_CLUSTER_NODES: "a:1", REDIS_USERNAME: "app" })).toMatch(/^invalid environment: REDIS_USERNAME: needs REDIS_PASSWORD too/);
  });
});
