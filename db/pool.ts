// One pg Pool per process. Errors on idle clients (server restart) are logged by the owner instead of
// crashing the process: the pool replaces the client on next use.
import pg from "pg";

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;

export interface PoolOptions {
  max?: number;
  applicationName?: string;
  /** Cap on any single statement, so a stuck query cannot hold a job forever. */
  statementTimeoutMs?: number;
  onError?: (err: Error) => void;
}

export function createPool(url: string, opts: PoolOptions = {}): Pool {
  const pool = new pg.Pool({
    connectionString: url,
    max: opts.max ?? 10,
    application_name: opts.applicationName ?? "ta-fleet",
    statement_timeout: opts.statementTimeoutMs ?? 120_000,
    connectionTimeoutMillis: 10_000,
    idleTimeoutMillis: 30_000,
    allowExitOnIdle: true,
  });
  pool.on("error", (err) => opts.onError?.(err));
  return pool;
}

/** Ends the pool once; later calls resolve immediately. Bounded so shutdown never hangs on a stuck server. */
export function poolCloser(pool: Pool, timeoutMs = 5_000): () => Promise<void> {
  let closing: Promise<void> | undefined;
  return () =>
    (closing ??= Promise.race([
      pool.end(),
      new Promise<void>((r) => setTimeout(r, timeoutMs).unref()),
    ]).catch(() => {}));
}

/** Runs `fn` in a transaction on one client; rolls back on any error. */
export async function inTransaction<T>(pool: Pool, fn: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    const result = await fn(client);
    await client.query("COMMIT");
    return result;
  } catch (err) {
    await client.query("ROLLBACK").catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}
