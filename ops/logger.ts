// One logger per process. Job code derives child loggers carrying queue, job id, attempt and trace id,
// so a trace id found in PostgreSQL leads straight to the log lines of that job.
import { pino, type Logger } from "pino";

export type { Logger };

export interface LoggerOptions {
  service: string;
  level?: string;
  /** Human-readable output; defaults to "stdout is a TTY and not production". */
  pretty?: boolean;
  /** Destination for tests; defaults to stdout. */
  destination?: NodeJS.WritableStream;
}

// Values under these keys are replaced wherever they appear in a log object.
const REDACT = [
  "password",
  "token",
  "apiKey",
  "authorization",
  "*.password",
  "*.token",
  "*.apiKey",
  "*.authorization",
  "*.headers.authorization",
  "*.headers['x-api-key']",
];

export function createLogger(opts: LoggerOptions): Logger {
  const pretty = opts.pretty ?? (Boolean(process.stdout.isTTY) && process.env.NODE_ENV !== "production");
  const base = { service: opts.service, pid: process.pid };
  const options = { level: opts.level ?? "info", base, redact: { paths: REDACT, censor: "[redacted]" } };
  if (opts.destination) return pino(options, opts.destination as pino.DestinationStream);
  if (pretty) {
    return pino({
      ...options,
      transport: { target: "pino-pretty", options: { colorize: true, ignore: "hostname", translateTime: "SYS:HH:MM:ss.l" } },
    });
  }
  return pino(options);
}
