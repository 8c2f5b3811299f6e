import { describe, expect, it } from "vitest";
import { Redactor } from "../../ops/telemetry-pg-exporter.ts";

// The shape of a Telegram bot token (bot id, colon, 35 characters), not a real one.
const BOT_TOKEN = `123456789:${"F".repeat(35)}`;
const r = new Redactor(["hunter2-secret-value", "short", undefined]);

describe("span redaction", () => {
  it("removes configured secret values wherever they appear", () => {
    expect(r.text("login failed with hunter2-secret-value for admin")).toBe("login failed with [redacted] for admin");
    // Values under 6 characters would redact ordinary words: they are not treated as secrets.
    expect(r.text("a short text")).toBe("a short text");
  });

  it("removes credential-looking substrings", () => {
    expect(r.text("connect postgres://fleet:s3cr3t@db.internal:5432/ta failed")).toBe("connect postgres://fleet:[redacted]@db.internal:5432/ta failed");
    expect(r.text("redis://:pw@127.0.0.1:6379")).toBe("redis://:[redacted]@127.0.0.1:6379");
    expect(r.text(`bot ${BOT_TOKEN} says`)).toBe("bot [redacted] says");
    expect(r.text("header Authorization: Bearer abc.def.ghi-123")).toBe("header Authorization: Bearer [redacted]");
    expect(r.text("key sk-ant-api03-abcdefghijklmnopqrstuv used")).toBe("key [redacted] used");
    expect(r.text("plain text, http://example.com/path, 12:30")).toBe("plain text, http://example.com/path, 12:30");
  });

  it("redacts values of secret-named keys but keeps counts like tokens", () => {
    const attrs = { "bot.token": "anything", TELEGRAM_BOT_TOKEN: "x", password: "p", "llm.api_key": "k", "llm.input_tokens": 120, tokens: 5, asset: "BTC-USD", note: "see postgres://u:pw@h/db" };
    expect(r.attributes(attrs)).toEqual({
      "bot.token": "[redacted]",
      TELEGRAM_BOT_TOKEN: "[redacted]",
      password: "[redacted]",
      "llm.api_key": "[redacted]",
      "llm.input_tokens": 120,
      tokens: 5,
      asset: "BTC-USD",
      note: "see postgres://u:[redacted]@h/db",
    });
    expect(JSON.parse(r.attributesJson(attrs))).toEqual(r.attributes(attrs));
    const clean = { queue: "stage", attempt: 1 };
    expect(r.attributesJson(clean)).toBe(JSON.stringify(clean));
  });
});
