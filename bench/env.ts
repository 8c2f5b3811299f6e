// Benchmarks run against the embedded dev servers (started if needed) but in their own database and key
// prefix, so they never touch the dev fleet's data.
import { randomBytes } from "node:crypto";
import { config } from "../ops/config.ts";
import { createLogger } from "../ops/logger.ts";
import { resolveUrls } from "../apps/bootstrap.ts";
import { stopStack } from "../ops/embedded/stack.ts";
import { createPool, type Pool } from "../db/pool.ts";
import { migrate } from "../db/migrate.ts";
import { loadSampleData } from "../db/sample-data.ts";
import { closeRedis, createRedis, deletePrefixKeys, redisUrlOf } from "../queues/connection.ts";

export interface BenchEnv {
  redisUrl: string;
  databaseUrl: string;
  pool: Pool;
  prefix: string;
  close(): Promise<void>;
}

export async function benchEnv(label: string): Promise<BenchEnv> {
  const cfg = config();
  const log = createLogger({ service: "bench", level: "warn", pretty: false });
  const urls = await resolveUrls(cfg, log);
  const name = `bench_${label}_${randomBytes(3).toString("hex")}`;
  const admin = createPool(urls.databaseUrl, { max: 1 });
  await admin.query(`CREATE DATABASE ${name}`);
  const u = new URL(urls.databaseUrl);
  u.pathname = `/${name}`;
  const pool = createPool(u.toString(), { max: 8 });
  await migrate(pool);
  await loadSampleData(pool);
  const prefix = `{bench-${label}-${randomBytes(3).toString("hex")}}`;
  return {
    redisUrl: redisUrlOf(urls.redisUrl, "the benchmarks"),
    databaseUrl: u.toString(),
    pool,
    prefix,
    async close() {
      await pool.end();
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
      const redis = createRedis(urls.redisUrl, "bench-cleanup");
      await deletePrefixKeys(redis, prefix).finally(() => closeRedis(redis));
      if (urls.started.length) await stopStack(cfg.DATA_DIR, urls.started);
    },
  };
}
