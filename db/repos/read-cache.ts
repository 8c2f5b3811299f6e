// A worker's recent reads of whole histories, per pool, keyed by the versions of the data they read. The
// stages of one asset each read the same bars, and its strategies' signals and backtests the same feature
// rows; a daily refresh runs an asset's jobs close together (queues/flows/daily-refresh.ts ENTRY_STAGE), so
// most of those reads are served here. A key names the asset's prices_version or features_version, which
// every change to that data bumps in the change's own transaction (migration 049): nothing cached outlives a
// change. Like any read, one that started just before a change commits returns the data before it; the
// stages fingerprint what they computed on, and the next run sees the change.
import type { Pool } from "../pool.ts";

/** Entries per pool: a worker's jobs in flight with room to spare (≈ 0.2 MB each for 10 years of days). */
const MAX_ENTRIES = 64;

// Per pool: two databases (tests, benchmarks) hold different rows under the same asset ids and versions.
const caches = new WeakMap<Pool, Map<string, Promise<unknown>>>();

function entries(pool: Pool): Map<string, Promise<unknown>> {
  let cache = caches.get(pool);
  if (!cache) caches.set(pool, (cache = new Map()));
  return cache;
}

/** The cached read under `key`, now the most recently used; undefined when there is none. */
export function cachedRead<T>(pool: Pool, key: string): Promise<T> | undefined {
  const cache = entries(pool);
  const hit = cache.get(key) as Promise<T> | undefined;
  if (hit) {
    // Most recently used last: eviction takes the first.
    cache.delete(key);
    cache.set(key, hit);
  }
  return hit;
}

/** Keeps `read` under `key` (replacing what was there) and returns it; a failed read is dropped. */
export function cacheRead<T>(pool: Pool, key: string, read: Promise<T>): Promise<T> {
  const cache = entries(pool);
  cache.delete(key);
  if (cache.size >= MAX_ENTRIES) cache.delete(cache.keys().next().value!);
  cache.set(key, read);
  read.catch(() => cache.get(key) === read && cache.delete(key));
  return read;
}
