// Numbered, append-only SQL migrations. A session advisory lock serialises concurrent migrators (two
// `release` phases, or a test and a worker); each file commits with its ledger row or not at all.
import { createHash } from "node:crypto";
import { readFileSync, readdirSync } from "node:fs";
import { resolve } from "node:path";
import type { Pool } from "./pool.ts";

export const MIGRATIONS_DIR = resolve(import.meta.dirname, "migrations");
const LOCK_KEY = 0x7a_f1ee7; // any constant unique to this project

export class MigrationError extends Error {
  override name = "MigrationError";
}

export interface Migration {
  version: number;
  file: string;
  sql: string;
  checksum: string;
}

export function loadMigrations(dir = MIGRATIONS_DIR): Migration[] {
  const files = readdirSync(dir).filter((f) => f.endsWith(".sql")).sort();
  const seen = new Map<number, string>();
  return files.map((file) => {
    const m = /^(\d+)_[a-z0-9_]+\.sql$/.exec(file);
    if (!m) throw new MigrationError(`migration file name ${JSON.stringify(file)} must look like 001_name.sql`);
    const version = Number(m[1]);
    const dup = seen.get(version);
    if (dup) throw new MigrationError(`migrations ${dup} and ${file} share version ${version}`);
    seen.set(version, file);
    const sql = readFileSync(resolve(dir, file), "utf8");
    return { version, file, sql, checksum: createHash("sha256").update(sql).digest("hex") };
  });
}

export interface MigrateResult {
  applied: string[];
  current: number;
}

export async function migrate(pool: Pool, opts: { dir?: string; log?: (msg: string) => void } = {}): Promise<MigrateResult> {
  const migrations = loadMigrations(opts.dir);
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query("SELECT pg_advisory_lock($1)", [LOCK_KEY]);
    try {
      await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
        version integer PRIMARY KEY, file text NOT NULL, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
      const { rows } = await client.query<{ version: number; file: string; checksum: string }>(
        "SELECT version, file, checksum FROM schema_migrations ORDER BY version",
      );
      const done = new Map(rows.map((r) => [r.version, r]));
      for (const m of migrations) {
        const prev = done.get(m.version);
        if (prev && prev.checksum !== m.checksum) {
          throw new MigrationError(`migration ${m.file} was changed after it was applied; add a new file instead`);
        }
      }
      const applied: string[] = [];
      for (const m of migrations.filter((m) => !done.has(m.version))) {
        try {
          await client.query("BEGIN");
          await client.query(m.sql);
          await client.query("INSERT INTO schema_migrations (version, file, checksum) VALUES ($1, $2, $3)", [m.version, m.file, m.checksum]);
          await client.query("COMMIT");
        } catch (err) {
          // The migration's error is the one worth reporting; after a failed ROLLBACK the session is
          // discarded (release below), which also ends the transaction.
          await client.query("ROLLBACK").catch((e: Error) => (broken = e));
          throw new MigrationError(`migration ${m.file} failed and was rolled back: ${(err as Error).message}`, { cause: err });
        }
        opts.log?.(`applied migration ${m.file}`);
        applied.push(m.file);
      }
      return { applied, current: migrations.at(-1)?.version ?? 0 };
    } finally {
      // A session-level lock dies with its session: when the unlock fails, release() below discards it.
      await client.query("SELECT pg_advisory_unlock($1)", [LOCK_KEY]).catch((e: Error) => (broken = e));
    }
  } finally {
    client.release(broken);
  }
}

/** Highest applied version and whether every file on disk is applied (the startup probe asks this). */
export async function migrationStatus(pool: Pool, dir?: string): Promise<{ applied: number; pending: string[] }> {
  const migrations = loadMigrations(dir);
  const { rows } = await pool
    .query<{ version: number }>("SELECT version FROM schema_migrations")
    .catch((err: Error & { code?: string }) => {
      // No ledger yet means nothing is applied; any other error (an outage) is the caller's to see.
      if (err.code === "42P01") return { rows: [] as { version: number }[] };
      throw err;
    });
  const done = new Set(rows.map((r) => r.version));
  return { applied: Math.max(0, ...done), pending: migrations.filter((m) => !done.has(m.version)).map((m) => m.file) };
}
