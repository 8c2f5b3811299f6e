// A CLI sub-command: its options, help text, and a prepare step that validates every flag before
// anything touches Redis (bad input enqueues nothing), returning the action to run.
import type { ParseArgsConfig } from "node:util";
import type { Context } from "@opentelemetry/api";
import type { Config } from "../../ops/config.ts";
import { createPool, type Pool } from "../../db/pool.ts";
import type { Fleet } from "../../queues/fleet.ts";

export class UsageError extends Error {
  override name = "UsageError";
}

export interface CommandContext {
  cfg: Config;
  /** Connects to the fleet (embedded stack when no REDIS_URL) on first call. */
  fleet(): Promise<Fleet>;
  /** Resolves the PostgreSQL URL (embedded stack when no DATABASE_URL). */
  databaseUrl(): Promise<string>;
  /** The command's producer span (started on first call): what it enqueues continues this trace. */
  trace(): Promise<Context>;
  out: NodeJS.WriteStream;
  /** Aborted by SIGINT/SIGTERM or a closed stdout: stop waiting, leave what was enqueued as it is. */
  signal: AbortSignal;
}

export type Values = Record<string, string | boolean | undefined>;

export interface Command {
  name: string;
  summary: string;
  /** Option lines for --help, already indented. */
  help: string;
  options: NonNullable<ParseArgsConfig["options"]>;
  /** Positional arguments allowed (e.g. a file name). */
  positionals?: boolean;
  prepare(values: Values, positionals: string[], cfg: Config): (ctx: CommandContext) => Promise<number>;
}

/** Validates `value` with a zod-like schema; a failure names the flag and the value. */
export function check<T>(
  schema: { safeParse(v: unknown): { success: true; data: T } | { success: false; error: { issues: { message: string }[] } } },
  flag: string,
  value: unknown,
): T {
  const r = schema.safeParse(value);
  if (!r.success) throw new UsageError(`${flag}: ${r.error.issues[0]!.message} (got ${JSON.stringify(value)})`);
  return r.data;
}

export function positiveSeconds(flag: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!(n > 0)) throw new UsageError(`${flag}: must be a positive number of seconds (got ${JSON.stringify(value)})`);
  return n;
}

/** Runs `fn` with one connection to the fleet's database, closed when it settles (a wait never holds one). */
export async function withDatabase<T>(ctx: CommandContext, fn: (db: Pool) => Promise<T>): Promise<T> {
  const db = createPool(await ctx.databaseUrl(), { max: 1, applicationName: "ta-fleet:enqueue" });
  try {
    return await fn(db);
  } finally {
    await db.end();
  }
}
