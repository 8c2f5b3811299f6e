// A lease in Redis that makes one of several replicas active and the others standby: Telegram allows one
// getUpdates poller per bot token, and a queue event must become one alert, not one per replica. The holder
// renews the lease every ttl/3 and stops acting the moment a renewal fails or finds the lease gone; a
// standby tries to take it every few hundred ms, so a holder that dies is replaced within ttl + that
// interval. The key lives under the fleet prefix, in the fleet's Cluster slot.
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import type { Logger } from "../ops/logger.ts";
import type { Redis } from "./connection.ts";

// Compare-and-act: only the holder's own token may extend or delete the key.
const RENEW = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0`;
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

/** Stops what the holder started; resolves once it has stopped. */
export type Stop = () => Promise<void>;
export type LeaseState = "active" | "standby";

export interface LeaseOptions {
  redis: Redis;
  key: string;
  ttlMs: number;
  /** How often a standby tries to take the lease. */
  retryMs?: number;
  log: Logger;
  /** Starts acting (resolves once acting) and returns how to stop. */
  whileHeld: () => Promise<Stop>;
}

const DEFAULT_RETRY_MS = 300;
const RELEASE_TIMEOUT_MS = 2_000;

export class Lease {
  /** This replica's token, the lease's value while it holds it: where it runs, and unique per start. */
  readonly token = `${hostname()}:${process.pid}:${randomBytes(4).toString("hex")}`;
  private current: LeaseState = "standby";
  /** Bumped on every change of state, so a Redis answer that arrives after one is ignored. */
  private epoch = 0;
  private timer?: NodeJS.Timeout;
  private deadline?: NodeJS.Timeout;
  private stop?: Stop;
  private transitions: Promise<void> = Promise.resolve();
  private closing?: Promise<void>;
  private readyResolve!: (s: LeaseState) => void;
  /** Resolves after the first attempt to take the lease, once acting when it was taken. */
  readonly ready = new Promise<LeaseState>((r) => (this.readyResolve = r));

  constructor(private readonly opts: LeaseOptions) {
    if (!(opts.ttlMs >= 3 * this.retryMs)) throw new Error(`lease ttlMs must be at least 3 × retryMs (${3 * this.retryMs}), got ${opts.ttlMs}`);
  }

  private get retryMs() {
    return this.opts.retryMs ?? DEFAULT_RETRY_MS;
  }

  get state(): LeaseState {
    return this.current;
  }

  /** The token of whoever holds the lease now (null: nobody). */
  holder(): Promise<string | null> {
    return this.opts.redis.get(this.opts.key);
  }

  start(): this {
    void this.tryAcquire(true);
    return this;
  }

  private schedule(fn: () => Promise<void>, ms: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void fn(), ms);
    this.timer.unref();
  }

  private async tryAcquire(first = false): Promise<void> {
    if (this.closing) return;
    const epoch = this.epoch;
    const sentAt = Date.now();
    let taken = false;
    try {
      taken = (await this.opts.redis.set(this.opts.key, this.token, "PX", this.opts.ttlMs, "NX")) === "OK";
    } catch (err) {
      this.opts.log.debug({ err: (err as Error).message, lease: this.opts.key }, "taking the lease failed; retrying");
    }
    if (this.closing || epoch !== this.epoch) return;
    if (taken) this.becomeActive(sentAt);
    else this.schedule(() => this.tryAcquire(), this.retryMs);
    if (first) void this.transitions.then(() => this.readyResolve(this.current));
  }

  private becomeActive(sentAt: number): void {
    this.current = "active";
    this.epoch++;
    this.extendDeadline(sentAt);
    this.schedule(() => this.renew(), Math.floor(this.opts.ttlMs / 3));
    this.opts.log.info({ lease: this.opts.key, holder: this.token, ttlMs: this.opts.ttlMs }, "lease taken: active");
    this.transition(async () => {
      try {
        this.stop = await this.opts.whileHeld();
      } catch (err) {
        this.opts.log.error({ err: (err as Error).message, lease: this.opts.key }, "starting the lease holder's work failed");
        this.lose("its work failed to start");
      }
    });
  }

  /**
   * Our own clock says the lease may soon be gone (a renewal hangs while Redis is unreachable): stop a fifth
   * of the ttl before another replica can take it, which is the time the holder has to stop acting.
   */
  private extendDeadline(sentAt: number): void {
    clearTimeout(this.deadline);
    const at = sentAt + Math.floor(this.opts.ttlMs * 0.8);
    this.deadline = setTimeout(() => this.lose("no renewal succeeded in time (Redis unreachable?)"), Math.max(0, at - Date.now()));
    this.deadline.unref();
  }

  private async renew(): Promise<void> {
    const epoch = this.epoch;
    const sentAt = Date.now();
    let renewed: boolean;
    try {
      renewed = (await this.opts.redis.eval(RENEW, 1, this.opts.key, this.token, this.opts.ttlMs)) === 1;
    } catch (err) {
      if (epoch === this.epoch) this.lose(`renewal failed: ${(err as Error).message}`);
      return;
    }
    if (epoch !== this.epoch || this.closing) return;
    if (!renewed) return this.lose("the lease expired or another replica holds it");
    this.extendDeadline(sentAt);
    this.schedule(() => this.renew(), Math.floor(this.opts.ttlMs / 3));
  }

  private lose(reason: string): void {
    if (this.current !== "active" || this.closing) return;
    this.current = "standby";
    this.epoch++;
    clearTimeout(this.deadline);
    this.opts.log.warn({ lease: this.opts.key, holder: this.token, reason }, "lease lost: standby");
    this.transition(() => this.stopActing());
    this.schedule(() => this.tryAcquire(), this.retryMs);
  }

  private async stopActing(): Promise<void> {
    const stop = this.stop;
    this.stop = undefined;
    await stop?.();
  }

  /** Starting and stopping the holder's work run one after another, never interleaved. */
  private transition(fn: () => Promise<void>): void {
    this.transitions = this.transitions.then(fn).catch((err: Error) => this.opts.log.error({ err: err.message, lease: this.opts.key }, "lease transition failed"));
  }

  /** Stops acting, then releases the lease so a standby takes over at once. Idempotent. */
  close(): Promise<void> {
    return (this.closing ??= (async () => {
      clearTimeout(this.timer);
      clearTimeout(this.deadline);
      const held = this.current === "active";
      this.current = "standby";
      this.epoch++;
      this.readyResolve(this.current);
      await (this.transitions = this.transitions.then(() => this.stopActing()));
      if (!held) return;
      const timeout = new Promise<"timeout">((r) => setTimeout(() => r("timeout"), RELEASE_TIMEOUT_MS).unref());
      const released = await Promise.race([this.opts.redis.eval(RELEASE, 1, this.opts.key, this.token).catch((err: Error) => err), timeout]);
      // Not released: it expires by itself within its ttl.
      if (released !== 1) this.opts.log.warn({ lease: this.opts.key, result: released instanceof Error ? released.message : released }, "lease not released; it expires by itself");
    })());
  }
}
