import { execFile } from "node:child_process";
import { resolve } from "node:path";
import { Writable } from "node:stream";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { ConfigError, parseConfig } from "../../ops/config.ts";
import { chooseLogFormat, createLogger } from "../../ops/logger.ts";

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

  it("RESEARCH_BRIEF is on or off (default on); anything else names the key", () => {
    expect(parseConfig({}).RESEARCH_BRIEF).toBe("on");
    expect(parseConfig({ RESEARCH_BRIEF: "off" }).RESEARCH_BRIEF).toBe("off");
    expect(() => parseConfig({ RESEARCH_BRIEF: "maybe" })).toThrow(/RESEARCH_BRIEF: must be on or off \(got "maybe"\)/);
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

describe("log format", () => {
  it("LOG_FORMAT is json or pretty, unset when not given; LOG_PRETTY is its older spelling, and loses to it", () => {
    expect(parseConfig({}).LOG_FORMAT).toBeUndefined();
    expect(parseConfig({ LOG_FORMAT: "json" }).LOG_FORMAT).toBe("json");
    expect(parseConfig({ LOG_FORMAT: "pretty" }).LOG_FORMAT).toBe("pretty");
    expect(() => parseConfig({ LOG_FORMAT: "text" })).toThrow(/LOG_FORMAT: .*got "text"/);
    expect(parseConfig({ LOG_PRETTY: "1" }).LOG_FORMAT).toBe("pretty");
    expect(parseConfig({ LOG_PRETTY: "false" }).LOG_FORMAT).toBe("json");
    expect(parseConfig({ LOG_PRETTY: "1", LOG_FORMAT: "json" }).LOG_FORMAT).toBe("json");
    expect("LOG_PRETTY" in parseConfig({ LOG_PRETTY: "1" })).toBe(false);
  });

  it("LOG_LEVEL stays unset when not given: whoever logs picks its own default", () => {
    expect(parseConfig({}).LOG_LEVEL).toBeUndefined();
    expect(parseConfig({ LOG_LEVEL: "debug" }).LOG_LEVEL).toBe("debug");
  });

  it("unset: pretty on a terminal, JSON on a pipe, JSON in production; a configured format wins either way", () => {
    const tty = { isTTY: true };
    const pipe = {};
    expect(chooseLogFormat(undefined, tty, "development")).toBe("pretty");
    expect(chooseLogFormat(undefined, tty, undefined)).toBe("pretty");
    expect(chooseLogFormat(undefined, pipe, "development")).toBe("json");
    expect(chooseLogFormat(undefined, { isTTY: false }, "development")).toBe("json");
    expect(chooseLogFormat(undefined, tty, "production")).toBe("json");
    expect(chooseLogFormat("json", tty, "development")).toBe("json");
    expect(chooseLogFormat("pretty", pipe, "production")).toBe("pretty");
  });

  it("writes JSON to a destination that is not a terminal, one short line per record when pretty", () => {
    const capture = () => {
      const lines: string[] = [];
      const destination = new Writable({
        write(chunk: Buffer, _enc, cb) {
          lines.push(...chunk.toString().split("\n").filter(Boolean));
          cb();
        },
      });
      return { lines, destination };
    };
    const json = capture();
    createLogger({ service: "worker", destination: json.destination }).warn({ file: "/tmp/f" }, "stored in the file");
    expect(json.lines).toHaveLength(1);
    expect(JSON.parse(json.lines[0]!)).toMatchObject({ level: 40, service: "worker", pid: process.pid, file: "/tmp/f", msg: "stored in the file" });

    const pretty = capture();
    const log = createLogger({ service: "worker", label: "worker.2", format: "pretty", destination: pretty.destination });
    log.warn({ file: "/tmp/f" }, "stored in the file");
    log.debug("below the level");
    log.info("no fields");
    expect(pretty.lines).toEqual([
      expect.stringMatching(/^\d\d:\d\d:\d\d WARN: worker\.2 {2}stored in the file \{"file":"\/tmp\/f"\}$/),
      expect.stringMatching(/^\d\d:\d\d:\d\d INFO: worker\.2 {2}no fields$/),
    ]);
  });
});
