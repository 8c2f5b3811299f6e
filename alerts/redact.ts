// Secrets never reach alert rows, messages, logs or spans: every text that crosses those lines goes
// through a redactor built from the configured secret values (and the shape of any bot token).
import { SECRET_KEYS, type Config } from "../ops/config.ts";

// Any bot-token-shaped string, also inside a URL path ("/bot123456:AA…/sendMessage").
const BOT_TOKEN = /(?<![0-9])\d{5,}:[A-Za-z0-9_-]{20,}/g;

export type Redactor = (text: string) => string;

export function redactor(secrets: ReadonlyArray<string | undefined>): Redactor {
  // Longest first, so a secret containing another is replaced whole.
  const values = [...new Set(secrets.filter((s): s is string => typeof s === "string" && s.length >= 6))].sort((a, b) => b.length - a.length);
  return (text) => {
    let out = text;
    for (const v of values) out = out.split(v).join("[redacted]");
    return out.replace(BOT_TOKEN, "[redacted]");
  };
}

/** A redactor for every secret variable of the config (URLs contribute their password too). */
export function configRedactor(cfg: Config): Redactor {
  const values: string[] = [];
  for (const key of SECRET_KEYS) {
    const v = (cfg as Record<string, unknown>)[key];
    if (typeof v !== "string") continue;
    values.push(v);
    try {
      const pw = new URL(v).password;
      if (pw) values.push(decodeURIComponent(pw), pw);
    } catch {
      /* not a URL */
    }
  }
  return redactor(values);
}
