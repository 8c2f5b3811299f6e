// Fleet-wide budgets per resource key, kept in Redis and changed only by Lua scripts, so N processes on
// M hosts never overrun a budget: reserve before the work (estimated tokens), settle after (actual use),
// release on failure. Concurrency is a set of leases with an expiry, so a dead process frees its slot.
import { randomUUID } from "node:crypto";
import type { Redis } from "./connection.ts";
import { dayKey, msUntilNextDay } from "./quota-time.ts";

export interface Budget {
  maxConcurrent?: number;
  /** Fixed windows aligned to the epoch (e.g. 60 000 ms = per minute). */
  window?: { ms: number; requests?: number; tokens?: number };
  /** Calendar day in `tz`. */
  day?: { requests?: number; tokens?: number };
  tz?: string;
  /** How long a lease lives without being extended (a crashed holder frees it after this). */
  leaseMs?: number;
}

export interface Lease {
  id: string;
  key: string;
  tokens: number;
  /** The instant the budget windows were evaluated at (epoch ms). */
  grantedAt: number;
}

export type Reservation =
  | { ok: true; lease: Lease; usage: Usage }
  | { ok: false; retryAfterMs: number; reason: "concurrency" | "window" | "day" | "backoff" };

export interface Usage {
  dayRequests: number;
  dayTokens: number;
  windowRequests: number;
  windowTokens: number;
  active: number;
}

const INF = 2 ** 53;

// KEYS: leases(zset), leaseInfo(hash), windowBucket(hash), dayBucket(hash), backoff(string)
// ARGV: now, leaseId, leaseMs, tokens, maxConc, winReq, winTok, dayReq, dayTok, winTtlMs, dayTtlMs, winRetry, dayRetry
const RESERVE = `
local now = tonumber(ARGV[1])
local bo = redis.call('PTTL', KEYS[5])
if bo > 0 then return {0, bo, 'backoff'} end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local active = redis.call('ZCARD', KEYS[1])
if active >= tonumber(ARGV[5]) then
  local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return {0, math.max(1, tonumber(first[2]) - now), 'concurrency'}
end
local tokens = tonumber(ARGV[4])
local wr = tonumber(redis.call('HGET', KEYS[3], 'req') or '0')
local wt = tonumber(redis.call('HGET', KEYS[3], 'tok') or '0')
if wr + 1 > tonumber(ARGV[6]) or wt + tokens > tonumber(ARGV[7]) then return {0, tonumber(ARGV[12]), 'window'} end
local dr = tonumber(redis.call('HGET', KEYS[4], 'req') or '0')
local dt = tonumber(redis.call('HGET', KEYS[4], 'tok') or '0')
if dr + 1 > tonumber(ARGV[8]) or dt + tokens > tonumber(ARGV[9]) then return {0, tonumber(ARGV[13]), 'day'} end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[2])
redis.call('HSET', KEYS[2], ARGV[2], KEYS[3] .. '|' .. KEYS[4] .. '|' .. tokens)
redis.call('HINCRBY', KEYS[3], 'req', 1)
redis.call('HINCRBY', KEYS[3], 'tok', tokens)
redis.call('PEXPIRE', KEYS[3], ARGV[10])
redis.call('HINCRBY', KEYS[4], 'req', 1)
redis.call('HINCRBY', KEYS[4], 'tok', tokens)
redis.call('PEXPIRE', KEYS[4], ARGV[11])
return {1, 0, 'ok', dr + 1, dt + tokens, wr + 1, wt + tokens, active + 1}
`;

// KEYS: leases, leaseInfo. ARGV: leaseId, tokenDelta (actual - estimate), refundRequest (0/1)
// Adjusts the buckets recorded at reservation time, so a settle after midnight corrects the right day.
const SETTLE = `
local info = redis.call('HGET', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
if not info then return 0 end
local sep1 = string.find(info, '|', 1, true)
local sep2 = string.find(info, '|', sep1 + 1, true)
local buckets = { string.sub(info, 1, sep1 - 1), string.sub(info, sep1 + 1, sep2 - 1) }
local delta = tonumber(ARGV[2])
for _, b in ipairs(buckets) do
  if redis.call('EXISTS', b) == 1 then
    if delta ~= 0 then redis.call('HINCRBY', b, 'tok', delta) end
    if ARGV[3] == '1' then redis.call('HINCRBY', b, 'req', -1) end
  end
end
return 1
`;

export class QuotaStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly budgets: ReadonlyMap<string, Budget>,
  ) {}

  private keys(key: string, now: number, b: Budget) {
    const base = `${this.prefix}:quota:${key}`;
    const win = b.window ? Math.floor(now / b.window.ms) : 0;
    return {
      leases: `${base}:leases`,
      leaseInfo: `${base}:lease-info`,
      window: `${base}:w:${b.window?.ms ?? 0}:${win}`,
      day: `${base}:d:${dayKey(now, b.tz ?? "UTC")}`,
      backoff: `${base}:backoff`,
    };
  }

  budget(key: string): Budget {
    const b = this.budgets.get(key);
    if (!b) throw new Error(`no budget configured for resource ${JSON.stringify(key)}`);
    return b;
  }

  async reserve(key: string, tokens = 0): Promise<Reservation> {
    const b = this.budget(key);
    const now = Date.now();
    const k = this.keys(key, now, b);
    const winMs = b.window?.ms ?? 60_000;
    const dayRetry = msUntilNextDay(now, b.tz ?? "UTC");
    const leaseId = randomUUID();
    const res = (await this.redis.eval(
      RESERVE, 5, k.leases, k.leaseInfo, k.window, k.day, k.backoff,
      now, leaseId, b.leaseMs ?? 60_000, tokens,
      b.maxConcurrent ?? INF, b.window?.requests ?? INF, b.window?.tokens ?? INF, b.day?.requests ?? INF, b.day?.tokens ?? INF,
      winMs * 2, dayRetry + 48 * 3600_000, winMs - (now % winMs), dayRetry,
    )) as [number, number, string, ...number[]];
    if (res[0] !== 1) return { ok: false, retryAfterMs: Number(res[1]), reason: res[2] as "window" };
    const [, , , dr, dt, wr, wt, active] = res.map(Number);
    return { ok: true, lease: { id: leaseId, key, tokens, grantedAt: now }, usage: { dayRequests: dr!, dayTokens: dt!, windowRequests: wr!, windowTokens: wt!, active: active! } };
  }

  /** The work happened: record actual tokens (difference to the estimate) and free the slot. */
  async settle(lease: Lease, actualTokens: number): Promise<void> {
    const k = this.keys(lease.key, Date.now(), this.budget(lease.key));
    await this.redis.eval(SETTLE, 2, k.leases, k.leaseInfo, lease.id, Math.round(actualTokens - lease.tokens), 0);
  }

  /** The work did not happen (failed before the call, cancelled): give the request and tokens back. */
  async release(lease: Lease): Promise<void> {
    const k = this.keys(lease.key, Date.now(), this.budget(lease.key));
    await this.redis.eval(SETTLE, 2, k.leases, k.leaseInfo, lease.id, -lease.tokens, 1);
  }

  /** Keep a lease alive during long work. */
  async extend(lease: Lease): Promise<void> {
    const b = this.budget(lease.key);
    const k = this.keys(lease.key, Date.now(), b);
    await this.redis.zadd(k.leases, "XX", Date.now() + (b.leaseMs ?? 60_000), lease.id);
  }

  /** An upstream said "slow down" (HTTP 429 retry-after): every process of the fleet backs off this key. */
  async backoff(key: string, ms: number): Promise<void> {
    const k = this.keys(key, Date.now(), this.budget(key));
    // Keep the later of an existing and the new deadline.
    const current = await this.redis.pttl(k.backoff);
    if (current < ms) await this.redis.set(k.backoff, "1", "PX", Math.max(1, Math.round(ms)));
  }

  async usage(key: string): Promise<Usage & { budget: Budget }> {
    const b = this.budget(key);
    const now = Date.now();
    const k = this.keys(key, now, b);
    const [[, day], [, win], [, active]] = (await this.redis
      .multi()
      .hgetall(k.day)
      .hgetall(k.window)
      .zcount(k.leases, now, "+inf")
      .exec()) as [[null, Record<string, string>], [null, Record<string, string>], [null, number]];
    return {
      budget: b,
      dayRequests: Number(day.req ?? 0),
      dayTokens: Number(day.tok ?? 0),
      windowRequests: Number(win.req ?? 0),
      windowTokens: Number(win.tok ?? 0),
      active: Number(active),
    };
  }
}
