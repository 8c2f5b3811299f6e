// One logger per process. Job code derives child loggers carrying queue, job id, attempt and trace id,
// so a trace id found in PostgreSQL leads straight to the log lines of that job.
import { pino, type Logger } from "pino";
import { PinoPretty } from "pino-pretty";

export type { Logger };

/** `json`: one object per line, for machines; `pretty`: one short line per record, for a person. */
export type LogFormat = "json" | "pretty";

export interface LoggerOptions {
  service: string;
  level?: string;
  /** LOG_FORMAT; unset → chooseLogFormat's rule for where the lines go. */
  format?: LogFormat;
  /** Fixes the format whatever LOG_FORMAT says (benchmarks, fixtures whose lines are parsed). */
  pretty?: boolean;
  /** What pretty lines start with; defaults to `service` (`npm start` passes its instance, e.g. worker.2). */
  label?: string;
  /** Destination for tests; defaults to stdout. */
  destination?: NodeJS.WritableStream;
}

/**
 * The configured format when there is one; otherwise pretty where a person reads the lines (a terminal) and
 * JSON where a machine does (a pipe, a file, a log collector) — and in production, whatever the output.
 */
export function chooseLogFormat(configured: LogFormat | undefined, out: { isTTY?: boolean }, nodeEnv: string | undefined): LogFormat {
  return configured ?? (out.isTTY === true && nodeEnv !== "production" ? "pretty" : "json");
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
  // A stream that is a terminal says so (tty.WriteStream), whether it is stdout or a destination.
  const out = (opts.destination ?? process.stdout) as { isTTY?: boolean };
  const format = opts.pretty === undefined ? chooseLogFormat(opts.format, out, process.env.NODE_ENV) : opts.pretty ? "pretty" : "json";
  const base = { service: opts.service, pid: process.pid };
  const options = { level: opts.level ?? "info", base, redact: { paths: REDACT, censor: "[redacted]" } };
  if (format === "json") return opts.destination ? pino(options, opts.destination as pino.DestinationStream) : pino(options);
  const label = opts.label ?? opts.service;
  // Formatted in this thread and written synchronously: a line is out before the process does its next
  // thing (answers a probe, exits), so on a terminal the lines of a fleet appear in the order they happened.
  const stream = PinoPretty({
    destination: opts.destination ?? 1,
    sync: true,
    // Escape codes only for a terminal (where pino-pretty's default honours NO_COLOR / FORCE_COLOR).
    ...(out.isTTY === true ? {} : { colorize: false }),
    singleLine: true,
    translateTime: "SYS:HH:MM:ss",
    ignore: "pid,hostname,service",
    customPrettifiers: { time: (t) => String(t) },
    messageFormat: (log, key) => `${label}  ${String(log[key])}`,
  });
  return pino(options, stream);
}
