// The barrier between two rounds of bench:queue: a round starts only when nothing an earlier round set going
// is still running, so each mode is charged for its own work and for no other mode's. Rounds used to run
// back to back in one process against one PostgreSQL, and a telemetry round left work behind that landed in
// whichever round came next: the autovacuum its span rows trigger (VACUUM ANALYZE of the day's partition,
// ≈ 0.3 s of PostgreSQL CPU on one of the two cores, started up to a minute later) and the old-generation
// garbage of its spans, collected by this process during a later round. The barrier does that work at once
// and waits for it (explicitly, not by sleeping):
//  - after a telemetry round, settleWrites() vacuums and analyzes the partitions it wrote (what autovacuum
//    would do: a 100 % round's rows pass its thresholds every time), inside that round's PostgreSQL CPU
//    measurement and outside every throughput clock. No CHECKPOINT: one per round would make the next rounds' writes dearer
//    (full-page images of every index page touched again), and the checkpointer's own writes are spread
//    over its 5-minute cycle, not piled onto one round;
//  - before every round, serverIdle() waits until no other backend of the bench database is busy, and
//    collectGarbage() runs a full collection.
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import type { Pool } from "../db/pool.ts";

// The partitions, not the partitioned tables: autovacuum never analyzes a parent, and ANALYZE of one samples
// all its partitions once more.
const PARTITIONS = `SELECT string_agg(relid::regclass::text, ', ') AS list
  FROM (SELECT relid, isleaf FROM pg_partition_tree('observability.spans')
        UNION ALL SELECT relid, isleaf FROM pg_partition_tree('observability.metrics')) t
  WHERE isleaf`;

/** The telemetry tables' maintenance now: what autovacuum would do during a later round. */
export async function settleWrites(pool: Pool): Promise<void> {
  const { rows } = await pool.query<{ list: string }>(PARTITIONS);
  await pool.query(`VACUUM (ANALYZE) ${rows[0]!.list}`);
}

// Client backends running a query, autovacuum workers, parallel workers: anything but this connection. Only
// in the bench's own database: what else the server serves (a dev fleet, another bench) is machine noise,
// which the interleaving spreads over all modes.
const BUSY = `SELECT coalesce(string_agg(backend_type || coalesce(': ' || left(query, 80), ''), '; '), '') AS busy
  FROM pg_stat_activity
  WHERE pid <> pg_backend_pid() AND datname = current_database()
    AND (state = 'active' OR backend_type IN ('autovacuum worker', 'parallel worker'))`;

/** Resolves when no other backend of the bench database is busy; past the deadline, says what still is. */
export async function serverIdle(pool: Pool, timeoutMs = 30_000): Promise<string | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { rows } = await pool.query<{ busy: string }>(BUSY);
    const busy = rows[0]!.busy;
    if (!busy) return undefined;
    if (Date.now() >= deadline) return busy;
    await new Promise((r) => setTimeout(r, 50));
  }
}

// A full collection on demand without running node with --expose-gc: the flag exposes gc() to contexts
// created after it is set.
setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

/** The previous round's garbage, collected before the next round's clock starts. */
export function collectGarbage(): void {
  gc();
}
