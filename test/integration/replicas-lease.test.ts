// The lease on its own, against real Redis: of three contenders exactly one acts; a holder whose renewal
// finds another token stops at once; a released lease is taken by a standby within the retry interval; a
// holder cut off from Redis (its renewal hangs) stops before the lease can expire and pass to another.
import { connect, createServer, type AddressInfo, type Server, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { closeRedis, createRedis, type Redis } from "../../queues/connection.ts";
import { Lease } from "../../queues/lease.ts";
import { memoryLogger } from "../helpers/log.ts";
import { redisUrl, uniquePrefix } from "../helpers/redis.ts";
import { poll } from "../helpers/wait.ts";

const TTL_MS = 1_500;
const RETRY_MS = 100;

let redis: Redis | undefined;
const leases: Lease[] = [];
const cuts: Array<{ server: Server; sockets: Socket[] }> = [];
afterEach(async () => {
  await Promise.all(leases.splice(0).map((l) => l.close()));
  if (redis) await closeRedis(redis);
  redis = undefined;
  // A paused socket never sees its peer's close: destroyed here, or the server would wait for it forever.
  for (const { server, sockets } of cuts.splice(0)) {
    sockets.forEach((s) => s.destroy());
    await new Promise<void>((r) => server.close(() => r()));
  }
});

/** A TCP pass-through to the test Redis that can stop forwarding without closing anything (a network cut). */
async function cuttableRedis(): Promise<{ url: string; cut(): void }> {
  const target = new URL(redisUrl());
  const sockets: Socket[] = [];
  const server = createServer((client) => {
    const upstream = connect(Number(target.port), target.hostname);
    sockets.push(client, upstream);
    client.pipe(upstream).pipe(client);
    const end = () => (client.destroy(), upstream.destroy());
    client.on("error", end).on("close", end);
    upstream.on("error", end).on("close", end);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  cuts.push({ server, sockets });
  const url = new URL(redisUrl());
  url.port = String((server.address() as AddressInfo).port);
  return {
    url: url.toString(),
    cut: () => {
      for (const s of sockets) {
        s.unpipe();
        s.pause();
      }
    },
  };
}

/** Contenders on one key; `acting` holds the names currently between whileHeld() and its stop. */
function contenders(names: string[]) {
  redis = createRedis(redisUrl(), "test-lease");
  const key = `${uniquePrefix("lease")}:bot:lease`;
  const acting = new Set<string>();
  let overlaps = 0;
  const byName = Object.fromEntries(
    names.map((name) => {
      const lease = new Lease({
        redis: redis!,
        key,
        ttlMs: TTL_MS,
        retryMs: RETRY_MS,
        log: memoryLogger().log,
        whileHeld: async () => {
          if (acting.size) overlaps++;
          acting.add(name);
          return async () => void acting.delete(name);
        },
      });
      leases.push(lease);
      return [name, lease] as const;
    }),
  );
  return { key, acting, byName, overlaps: () => overlaps };
}

describe("lease", () => {
  it("one of three acts; a lost lease stops its holder at once; a released one is taken over", async () => {
    const c = contenders(["a", "b", "c"]);
    const states = await Promise.all(Object.values(c.byName).map((l) => l.start().ready));
    expect(states.filter((s) => s === "active")).toHaveLength(1);
    const holder = Object.entries(c.byName).find(([, l]) => l.state === "active")!;
    expect([...c.acting]).toEqual([holder[0]]);
    expect(await redis!.get(c.key)).toBe(holder[1].token);

    // Someone else's token in the key (the lease expired and was taken meanwhile): the holder's next renewal
    // sees it and stops, within a third of the ttl.
    await redis!.set(c.key, "intruder", "PX", TTL_MS);
    const lostAt = Date.now();
    await poll(() => c.acting.size === 0, "the holder to stop", TTL_MS);
    expect(Date.now() - lostAt).toBeLessThan(TTL_MS / 3 + 500);
    expect(holder[1].state).toBe("standby");

    // When the intruder's lease goes, one standby takes it.
    await redis!.del(c.key);
    await poll(() => c.acting.size === 1, "a standby to take over", 2_000);
    const next = Object.values(c.byName).find((l) => l.state === "active")!;
    // A graceful close releases at once: another takes over within the retry interval (plus scheduling).
    const closedAt = Date.now();
    await next.close();
    expect(await redis!.get(c.key)).not.toBe(next.token);
    await poll(() => c.acting.size === 1, "another standby to take over", 2_000);
    expect(Date.now() - closedAt).toBeLessThan(TTL_MS);
    expect(c.overlaps()).toBe(0);
  });

  it("a holder whose renewal hangs (Redis cut off) stops at 80 % of the ttl, before the lease can pass", async () => {
    const net = await cuttableRedis();
    const cutOff = (redis = createRedis(net.url, "test-lease-cut"));
    let stoppedAt: number | undefined;
    const lease = new Lease({
      redis: cutOff,
      key: `${uniquePrefix("lease")}:bot:lease`,
      ttlMs: TTL_MS,
      retryMs: RETRY_MS,
      log: memoryLogger().log,
      whileHeld: async () => async () => void (stoppedAt = Date.now()),
    });
    leases.push(lease);
    expect(await lease.start().ready).toBe("active");
    const cutAt = Date.now();
    net.cut();
    await poll(() => stoppedAt, "the cut-off holder to stop", TTL_MS * 2);
    expect(lease.state).toBe("standby");
    // It stopped no later than 80 % of the ttl after its last renewal, which is at most the cut itself.
    expect(stoppedAt! - cutAt).toBeLessThanOrEqual(TTL_MS * 0.8 + 200);
    await lease.close();
    cutOff.disconnect();
  });
});
