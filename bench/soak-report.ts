// What the soak reads back at the end — smoke rows, table sizes, Redis figures, the workers' own warnings —
// and how it prints figures.
import { readFileSync } from "node:fs";
import type { Pool } from "../db/pool.ts";
import type { Redis } from "../queues/connection.ts";

const MB = 1024 * 1024;

export const mb = (n: number) => Number(n.toFixed(1));
export const pct = (ratio: number) => `${ratio >= 0 ? "+" : ""}${(ratio * 100).toFixed(1)} %`;
export const int = (n: number) => Math.round(n).toLocaleString("en-US");

export async function redisUsedMb(redis: Redis): Promise<number> {
  const m = /^used_memory:(\d+)/m.exec(await redis.info("memory"));
  if (!m) throw new Error("INFO memory has no used_memory");
  return Number(m[1]) / MB;
}

/** Keys left under the prefix, and the completed jobs the smoke queue retains (its removeOnComplete). */
export async function redisKeys(redis: Redis, prefix: string, queue: string): Promise<{ keys: number; retainedCompleted: number }> {
  let keys = 0;
  let cursor = "0";
  // Bounded: SCAN visits each key once; the cap only guards against a server that keeps answering.
  for (let i = 0; i < 100_000; i++) {
    const [next, batch] = await redis.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1000);
    keys += batch.length;
    cursor = next;
    if (cursor === "0") break;
  }
  return { keys, retainedCompleted: await redis.zcard(`${prefix}:${queue}:completed`) };
}

/** Smoke rows of this soak: how many ids have one, and how many ran more than once. */
export async function smokeRows(pool: Pool, idPrefix: string): Promise<{ rows: number; duplicates: number }> {
  const { rows } = await pool.query<{ rows: number; duplicates: number }>(
    "SELECT count(*)::int AS rows, (count(*) FILTER (WHERE runs > 1))::int AS duplicates FROM fleet_smoke WHERE starts_with(job_id, $1)",
    [idPrefix],
  );
  return rows[0]!;
}

export interface TableSize {
  table: string;
  mb: number;
  rows: number;
}

// Where the soak's volume lands: reported whatever their rank.
const WATCHED_TABLES = ["observability.spans", "observability.metrics", "public.fleet_smoke"];

/**
 * The watched and the `top` largest tables of the soak's database with indexes and TOAST
 * (pg_total_relation_size), a partitioned table as the sum of its partitions, and their exact row counts.
 */
export async function tableSizes(pool: Pool, top = 6): Promise<TableSize[]> {
  const { rows } = await pool.query<{ table: string; ident: string; bytes: string }>(
    `SELECT format('%s.%s', n.nspname, c.relname) AS table, format('%I.%I', n.nspname, c.relname) AS ident,
            CASE c.relkind WHEN 'p' THEN (SELECT coalesce(sum(pg_total_relation_size(t.relid)), 0) FROM pg_partition_tree(c.oid) t)
                           ELSE pg_total_relation_size(c.oid) END AS bytes
     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND n.nspname IN ('public', 'observability')
     ORDER BY bytes DESC, 1`,
  );
  const out: TableSize[] = [];
  for (const r of rows.filter((r, i) => i < top || WATCHED_TABLES.includes(r.table))) {
    const count = await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${r.ident}`);
    out.push({ table: r.table, mb: mb(Number(r.bytes) / MB), rows: count.rows[0]!.n });
  }
  return out;
}

/** Warning and error lines a worker logged (JSON lines, pino levels), with the distinct messages. */
export function logProblems(file: string): { warnings: number; errors: number; messages: string[] } {
  let warnings = 0;
  let errors = 0;
  const messages = new Set<string>();
  for (const line of readFileSync(file, "utf8").split("\n")) {
    if (!line.startsWith("{")) continue;
    const rec = JSON.parse(line) as { level?: number; msg?: string };
    if ((rec.level ?? 0) >= 50) errors++;
    else if ((rec.level ?? 0) >= 40) warnings++;
    else continue;
    messages.add(rec.msg ?? line.slice(0, 200));
  }
  return { warnings, errors, messages: [...messages].slice(0, 5) };
}

/** `n` points of a series spread evenly over it (the last one included), for a one-line curve. */
export function spread<T>(xs: T[], n: number): T[] {
  if (xs.length <= n) return xs;
  return Array.from({ length: n }, (_, i) => xs[Math.round((i * (xs.length - 1)) / (n - 1))]!);
}
