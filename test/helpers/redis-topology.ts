// Real Redis topologies on loopback for the failover tests: a Sentinel set (master, replica, three
// sentinels) or a Cluster (three masters, three replicas), each server a child process of the test with a
// temporary directory of its own, stopped (SIGKILL) by stop(). Waits are polls on what the servers report.
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import type { RedisTopology } from "../../ops/config.ts";
import { freePorts } from "./net.ts";
import { poll } from "./wait.ts";

const execFileP = promisify(execFile);
export const SENTINEL_MASTER = "fleet";

/** redis-cli against a loopback port; its trimmed output. */
export async function redisCli(port: number, ...args: string[]): Promise<string> {
  const { stdout } = await execFileP("redis-cli", ["-h", "127.0.0.1", "-p", String(port), ...args], { timeout: 30_000 });
  return stdout.trim();
}

interface Server {
  port: number;
  child: ChildProcess;
  exited: Promise<void>;
}

export class RedisTopologyUnderTest {
  readonly dir = mkdtempSync(join(tmpdir(), "ta-fleet-redis-"));
  private readonly servers = new Map<number, Server>();

  private constructor(
    readonly kind: "standalone" | "sentinel" | "cluster",
    /** Data nodes (master first for Sentinel) and, for Sentinel, the sentinels. */
    readonly nodes: number[],
    readonly sentinels: number[] = [],
  ) {}

  /** One standalone server with extra arguments (an ACL user, say); `nodes[0]` is its port. */
  static async standalone(args: string[]): Promise<RedisTopologyUnderTest> {
    const [port] = [await freePorts(1)];
    const t = new RedisTopologyUnderTest("standalone", [port]);
    t.startNode(port, args);
    await poll(async () => /PONG|NOAUTH/.test(await redisCli(port, "PING").catch((err: Error) => err.message)), `redis-server on ${port}`, 30_000, 100);
    return t;
  }

  /** One master, one replica, three sentinels (quorum 2) that notice a dead master within a second. */
  static async sentinel(): Promise<RedisTopologyUnderTest> {
    const base = await freePorts(5);
    const t = new RedisTopologyUnderTest("sentinel", [base, base + 1], [base + 2, base + 3, base + 4]);
    try {
      t.startNode(base);
      t.startNode(base + 1, ["--replicaof", "127.0.0.1", String(base)]);
      await poll(async () => (await redisCli(base + 1, "INFO", "replication")).includes("master_link_status:up"), "the replica to sync", 60_000, 100);
      for (const port of t.sentinels) {
        const conf = join(t.dir, `sentinel-${port}.conf`);
        // Sentinel rewrites its config file: each one needs a writable file of its own.
        writeFileSync(
          conf,
          [
            `port ${port}`,
            "bind 127.0.0.1",
            `dir ${t.dir}`,
            `sentinel monitor ${SENTINEL_MASTER} 127.0.0.1 ${base} 2`,
            `sentinel down-after-milliseconds ${SENTINEL_MASTER} 1000`,
            `sentinel failover-timeout ${SENTINEL_MASTER} 5000`,
            `sentinel parallel-syncs ${SENTINEL_MASTER} 1`,
            "",
          ].join("\n"),
        );
        t.spawn(port, [conf, "--sentinel"]);
      }
      // Ready once every sentinel knows the replica and the other two sentinels.
      await poll(async () => {
        const counts = await Promise.all(t.sentinels.map((p) => redisCli(p, "SENTINEL", "MASTER", SENTINEL_MASTER)));
        return counts.every((c) => /num-slaves\n1\n/.test(c) && /num-other-sentinels\n2\n/.test(c));
      }, "the sentinels to know each other and the replica", 60_000, 200);
      return t;
    } catch (err) {
      await t.stop();
      throw err;
    }
  }

  /** Three masters and three replicas; a failed master is replaced after about a second. */
  static async cluster(): Promise<RedisTopologyUnderTest> {
    const base = await freePorts(6);
    // The bus ports are chosen too: the default (port + 10000) may be taken.
    const bus = await freePorts(6);
    const ports = Array.from({ length: 6 }, (_, i) => base + i);
    const t = new RedisTopologyUnderTest("cluster", ports);
    try {
      ports.forEach((port, i) => {
        // prettier-ignore
        t.startNode(port, [
          "--cluster-enabled", "yes", "--cluster-port", String(bus + i), "--cluster-config-file", join(t.dir, `nodes-${port}.conf`),
          "--cluster-node-timeout", "1000",
          // A replica's "data age" counts from the master's last replication ping (every 10 s), so with a 1 s
          // node timeout the default factor (10) can veto the failover; 0 lets a replica always take over.
          "--cluster-replica-validity-factor", "0",
        ]);
      });
      await poll(async () => (await Promise.all(ports.map((p) => redisCli(p, "PING")))).every((r) => r === "PONG"), "the cluster nodes to answer", 30_000, 100);
      await execFileP("redis-cli", ["--cluster", "create", ...ports.map((p) => `127.0.0.1:${p}`), "--cluster-replicas", "1", "--cluster-yes"], { timeout: 120_000 });
      await poll(async () => {
        const infos = await Promise.all(ports.map((p) => redisCli(p, "CLUSTER", "INFO")));
        return infos.every((i) => i.includes("cluster_state:ok") && i.includes("cluster_known_nodes:6"));
      }, "cluster_state:ok on every node", 60_000, 200);
      // Every replica attached: a failover then has a replica to promote.
      await poll(async () => (await redisCli(base, "CLUSTER", "NODES")).split("\n").filter((l) => / slave /.test(l) && / connected/.test(l)).length === 3, "three connected replicas", 60_000, 200);
      return t;
    } catch (err) {
      await t.stop();
      throw err;
    }
  }

  /** The environment a fleet process reads this topology from (ops/config.ts). */
  get env(): Record<string, string> {
    const list = (ports: number[]) => ports.map((p) => `127.0.0.1:${p}`).join(",");
    if (this.kind === "standalone") return { REDIS_URL: this.target as string };
    return this.kind === "sentinel" ? { REDIS_SENTINELS: list(this.sentinels), REDIS_SENTINEL_MASTER: SENTINEL_MASTER } : { REDIS_CLUSTER_NODES: list(this.nodes) };
  }

  get target(): RedisTopology {
    const hosts = (ports: number[]) => ports.map((port) => ({ host: "127.0.0.1", port }));
    if (this.kind === "standalone") return `redis://127.0.0.1:${this.nodes[0]}`;
    return this.kind === "sentinel" ? { kind: "sentinel", sentinels: hosts(this.sentinels), master: SENTINEL_MASTER } : { kind: "cluster", nodes: hosts(this.nodes) };
  }

  /** The port of the master that holds `key`'s slot (Cluster), or of the current master (Sentinel). */
  async masterFor(key = "{ta}"): Promise<number> {
    if (this.kind === "standalone") return this.nodes[0]!;
    if (this.kind === "sentinel") {
      const addr = (await redisCli(this.sentinels[0]!, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", SENTINEL_MASTER)).split("\n");
      return Number(addr[1]);
    }
    const slot = Number(await redisCli(this.nodes[0]!, "CLUSTER", "KEYSLOT", key));
    const live = this.nodes.find((p) => this.servers.has(p))!;
    for (const line of (await redisCli(live, "CLUSTER", "NODES")).split("\n")) {
      const [, addr, flags, , , , , , ...slots] = line.split(" ");
      if (!flags?.includes("master") || flags.includes("fail")) continue;
      const owns = slots.some((r) => {
        const [lo, hi = lo] = r.split("-").map(Number);
        return slot >= lo! && slot <= hi!;
      });
      if (owns) return Number(addr!.split(":")[1]!.split("@")[0]);
    }
    throw new Error(`no live master owns slot ${slot} of ${key}`);
  }

  /** SIGKILL of one server; resolves once it is gone. */
  async kill(port: number): Promise<void> {
    const s = this.servers.get(port);
    if (!s) throw new Error(`no redis-server of this topology on port ${port}`);
    s.child.kill("SIGKILL");
    await s.exited;
    this.servers.delete(port);
  }

  /** Stops every server (SIGKILL: nothing of theirs is kept) and removes the directory. Idempotent. */
  async stop(): Promise<void> {
    for (const s of this.servers.values()) s.child.kill("SIGKILL");
    await Promise.all([...this.servers.values()].map((s) => s.exited));
    this.servers.clear();
    rmSync(this.dir, { recursive: true, force: true });
  }

  private startNode(port: number, extra: string[] = []): void {
    const dir = join(this.dir, String(port));
    mkdirSync(dir, { recursive: true });
    // prettier-ignore
    this.spawn(port, [
      "--bind", "127.0.0.1", "--port", String(port), "--dir", dir, "--appendonly", "yes",
      "--maxmemory-policy", "noeviction", "--save", "", ...extra,
    ]);
  }

  private spawn(port: number, args: string[]): void {
    const child = spawn("redis-server", [...args, "--logfile", join(this.dir, `${port}.log`)], { stdio: "ignore" });
    const exited = new Promise<void>((r) => child.once("exit", () => r()));
    this.servers.set(port, { port, child, exited });
  }
}
