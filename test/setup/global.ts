// Starts (or reuses) the test Redis and PostgreSQL — never the dev servers under .data/ — and migrates a
// template database that each test file clones, so every file gets its own fresh, migrated database.
import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import type { TestProject } from "vitest/node";
import { alive } from "../../ops/embedded/process.ts";
import { createPool } from "../../db/pool.ts";
import { migrate } from "../../db/migrate.ts";
import { ensureStack, stopStack } from "../../ops/embedded/stack.ts";

// One template per run: a concurrent run rebuilding its own template never breaks this one's clones.
export const TEMPLATE_DB = `tafleet_template_${process.pid}`;
const DATA_DIR = ".test-data";

declare module "vitest" {
  export interface ProvidedContext {
    redisUrl: string;
    adminDatabaseUrl: string;
    templateDb: string;
  }
}

export default async function setup(project: TestProject) {
  const stack = await ensureStack({
    dataDir: DATA_DIR,
    redisPort: Number(process.env.TEST_REDIS_PORT ?? 6391),
    pgPort: Number(process.env.TEST_PG_PORT ?? 5441),
    redisUrl: process.env.TEST_REDIS_URL,
    databaseUrl: process.env.TEST_DATABASE_URL,
    ephemeral: true,
    log: (m) => console.log(`[test-setup] ${m}`),
  });
  const admin = createPool(stack.databaseUrl, { max: 1 });
  try {
    // Rebuilt each run so it matches the migrations on disk.
    await admin.query(`DROP DATABASE IF EXISTS ${TEMPLATE_DB} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${TEMPLATE_DB}`);
  } finally {
    await admin.end();
  }
  const templateUrl = new URL(stack.databaseUrl);
  templateUrl.pathname = `/${TEMPLATE_DB}`;
  const tpl = createPool(templateUrl.toString(), { max: 1 });
  try {
    await migrate(tpl);
  } finally {
    await tpl.end();
  }
  project.provide("redisUrl", stack.redisUrl);
  project.provide("adminDatabaseUrl", stack.databaseUrl);
  project.provide("templateDb", TEMPLATE_DB);
  // Several test runs may share the servers (two terminals, an editor's runner): each holds a lease, and
  // the last run out stops them, so nothing is left running and nobody loses the servers mid-run.
  const leases = resolve(DATA_DIR, "runs");
  mkdirSync(leases, { recursive: true });
  writeFileSync(resolve(leases, String(process.pid)), "");
  return async () => {
    const a = createPool(stack.databaseUrl, { max: 1 });
    await a.query(`DROP DATABASE IF EXISTS ${TEMPLATE_DB} WITH (FORCE)`).finally(() => a.end());
    rmSync(resolve(leases, String(process.pid)), { force: true });
    const others = readdirSync(leases).filter((f) => alive(Number(f)));
    if (!others.length) await stopStack(DATA_DIR);
  };
}
