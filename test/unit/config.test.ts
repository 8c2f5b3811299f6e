import { execFile } from "node:child_process";
import { resolve } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { ConfigError, parseConfig } from "../../ops/config.ts";

const execFileP = promisify(execFile);

describe("config", () => {
  it("applies defaults and freezes the result", () => {
    const cfg = parseConfig({});
    expect(cfg.QUEUE_PREFIX).toBe("{ta}");
    expect(cfg.WORKER_CONCURRENCY).toBe(4);
    expect(cfg.REDIS_URL).toBeUndefined();
    expect(Object.isFrozen(cfg)).toBe(true);
    expect(cfg.EMA_TIMEFRAMES).toEqual(["7D", "30D", "1W", "1M"]);
    expect(Object.isFrozen(cfg.EMA_TIMEFRAMES)).toBe(true);
    expect(() => ((cfg as { WEB_PORT: number }).WEB_PORT = 1)).toThrow(TypeError);
  });

  it("WORKER_QUEUES stays the raw list (the worker checks the names against the kinds); unset means every kind", () => {
    expect(parseConfig({}).WORKER_QUEUES).toBeUndefined();
    const cfg = parseConfig({ WORKER_QUEUES: " stage, stgae ,," });
    expect(cfg.WORKER_QUEUES).toEqual(["stage", "stgae"]);
    expect(Object.isFrozen(cfg.WORKER_QUEUES)).toBe(true);
  });

  it("names the variable and the bad value", () => {
    expect(() => parseConfig({ WORKER_CONCURRENCY: "lots" })).toThrow(/WORKER_CONCURRENCY: .*got "lots"/);
    expect(() => parseConfig({ WEB_PORT: "70000" })).toThrow(/WEB_PORT: .*got "70000"/);
    expect(() => parseConfig({ QUEUE_PREFIX: "a b" })).toThrow(/QUEUE_PREFIX/);
  });

  it("redacts secret values", () => {
    const secret = "rediss://user:hunter2-secret@[::1";
    let message = "";
    try {
      parseConfig({ REDIS_URL: secret, TELEGRAM_BOT_TOKEN: "not-a-token-hunter2" });
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      message = (err as Error).message;
    }
    expect(message).toMatch(/REDIS_URL: .*\[redacted\]/);
    expect(message).toMatch(/TELEGRAM_BOT_TOKEN: .*\[redacted\]/);
    expect(message).not.toContain("hunter2");
  });

  it("treats empty strings as unset", () => {
    expect(parseConfig({ REDIS_URL: "", WEB_PORT: "" }).WEB_PORT).toBe(3000);
  });

  it("a process with a bad variable exits 2 with one line naming it", async () => {
    const script = resolve(import.meta.dirname, "../../apps/cli/check-config.ts");
    const err = await execFileP(process.execPath, ["--import", "tsx", script], {
      env: { ...process.env, WORKER_CONCURRENCY: "-3" },
    }).then(
      () => undefined,
      (e: { code: number; stderr: string }) => e,
    );
    expect(err?.code).toBe(2);
    expect(err?.stderr.trim().split("\n")).toHaveLength(1);
    expect(err?.stderr).toMatch(/^ta-fleet: invalid environment: WORKER_CONCURRENCY/);
  });
});
