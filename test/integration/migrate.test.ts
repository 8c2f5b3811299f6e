import { mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MIGRATIONS_DIR, MigrationError, loadMigrations, migrate, migrationStatus } from "../../db/migrate.ts";
import { createPool } from "../../db/pool.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/db.ts";

describe("migrations", () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(() => db.drop());

  it("the template is fully migrated and a re-run is a no-op", async () => {
    const before = await db.pool.query("SELECT count(*)::int AS n FROM schema_migrations");
    expect(before.rows[0].n).toBe(loadMigrations().length);
    const again = await migrate(db.pool);
    expect(again.applied).toEqual([]);
    expect((await migrationStatus(db.pool)).pending).toEqual([]);
    const tables = await db.pool.query(
      "SELECT table_name FROM information_schema.tables WHERE table_schema = 'observability' ORDER BY 1",
    );
    expect(tables.rows.map((r) => r.table_name)).toEqual(
      expect.arrayContaining(["alerts", "metrics", "spans", "workflow_state"]),
    );
    const parts = await db.pool.query(
      "SELECT count(*)::int AS n FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'metrics'",
    );
    expect(parts.rows[0].n).toBeGreaterThanOrEqual(3);
  });

  it("two concurrent migrators on a fresh database apply each file exactly once", async () => {
    const fresh = await createEmptyDatabase(db);
    try {
      const a = createPool(fresh.url, { max: 2 });
      const b = createPool(fresh.url, { max: 2 });
      const [ra, rb] = await Promise.all([migrate(a), migrate(b)]);
      await Promise.all([a.end(), b.end()]);
      const applied = [...ra.applied, ...rb.applied].sort();
      expect(applied).toEqual(loadMigrations().map((m) => m.file));
      const rows = await fresh.pool.query("SELECT version FROM schema_migrations ORDER BY version");
      expect(rows.rows.map((r) => r.version)).toEqual(loadMigrations().map((m) => m.version));
    } finally {
      await fresh.drop();
    }
  });

  it("a failing file rolls back entirely and is named", async () => {
    const fresh = await createEmptyDatabase(db);
    const dir = mkdtempSync(join(tmpdir(), "mig-"));
    writeFileSync(join(dir, "001_ok.sql"), "CREATE TABLE ok_table (id int);");
    writeFileSync(join(dir, "002_broken.sql"), "CREATE TABLE half_made (id int);\nSELECT * FROM no_such_table;");
    try {
      await expect(migrate(fresh.pool, { dir })).rejects.toThrow(/002_broken\.sql failed.*no_such_table/);
      const tables = await fresh.pool.query("SELECT to_regclass('half_made') AS h, to_regclass('ok_table') AS o");
      expect(tables.rows[0]).toEqual({ h: null, o: "ok_table" });
      const ledger = await fresh.pool.query("SELECT file FROM schema_migrations");
      expect(ledger.rows.map((r) => r.file)).toEqual(["001_ok.sql"]);
    } finally {
      await fresh.drop();
    }
  });

  it("refuses a migration edited after it was applied", async () => {
    const fresh = await createEmptyDatabase(db);
    const dir = mkdtempSync(join(tmpdir(), "mig-"));
    writeFileSync(join(dir, "001_a.sql"), "CREATE TABLE a (id int);");
    try {
      await migrate(fresh.pool, { dir });
      writeFileSync(join(dir, "001_a.sql"), "CREATE TABLE a (id bigint);");
      await expect(migrate(fresh.pool, { dir })).rejects.toBeInstanceOf(MigrationError);
    } finally {
      await fresh.drop();
    }
  });

  it("shipped migration files are numbered and unique, and the template applied exactly them", async () => {
    const files = loadMigrations(MIGRATIONS_DIR);
    // Every .sql file of the directory is loaded, in file-name order, versioned by its number prefix.
    const onDisk = readdirSync(MIGRATIONS_DIR).filter((f) => f.endsWith(".sql")).sort();
    expect(files.map((f) => [f.file, f.version])).toEqual(onDisk.map((f) => [f, Number(/^(\d+)_/.exec(f)![1])]));
    // Versions strictly increase: unique, and the order they are applied in.
    expect(files.every((f, i) => i === 0 || f.version > files[i - 1]!.version)).toBe(true);
    const applied = await db.pool.query<{ version: number; file: string }>("SELECT version, file FROM schema_migrations ORDER BY version");
    expect(applied.rows.map((r) => [r.file, r.version])).toEqual(files.map((f) => [f.file, f.version]));
  });
});

/** An empty database (not from the template), dropped by the caller. */
async function createEmptyDatabase(parent: TestDatabase) {
  const name = `e_${Math.random().toString(16).slice(2, 10)}`;
  await parent.pool.query(`CREATE DATABASE ${name}`);
  const u = new URL(parent.url);
  u.pathname = `/${name}`;
  const pool = createPool(u.toString(), { max: 2 });
  return {
    url: u.toString(),
    pool,
    async drop() {
      await pool.end();
      await parent.pool.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    },
  };
}
