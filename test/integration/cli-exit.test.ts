// CLIs end promptly and cleanly when whoever reads their output goes away (`| head -1`) and when they are
// told to stop (SIGTERM), closing their connections instead of hanging or dying half-way.
import type { FlowJob } from "bullmq";
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { upsertAsset } from "../../db/repos/assets.ts";
import { Fleet } from "../../queues/fleet.ts";
import { runKey, runTree } from "../../queues/flows/daily-refresh.ts";
import { KINDS, type KindName } from "../../queues/registry.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/db.ts";
import { reap, spawnTs, type EventProcess } from "../helpers/proc.ts";
import { deletePrefix, redisUrl, uniquePrefix } from "../helpers/redis.ts";
import { within } from "../helpers/wait.ts";

const ROOT = resolve(import.meta.dirname, "../..");
let db: TestDatabase;
const children: ChildProcess[] = [];
const procs: EventProcess[] = [];
const prefixes: string[] = [];
// Each test: its own database, and a queue prefix per CLI run.
beforeEach(async () => {
  db = await createTestDatabase();
});
afterEach(async () => {
  await reap(procs.splice(0));
  for (const c of children.splice(0)) {
    if (c.exitCode !== null || c.signalCode !== null) continue;
    // The whole process group: a CLI hung behind `| head -1` is the shell's child, not ours.
    process.kill(-c.pid!, "SIGKILL");
    await once(c, "exit");
  }
  await Promise.all(prefixes.splice(0).map(deletePrefix));
  await db.drop();
});

/** Runs a CLI (optionally as `cli | head -1`, the shell exiting with the CLI's status) in its own process group. */
function run(file: string, args: string[], opts: { headOne?: boolean } = {}) {
  const prefix = uniquePrefix("cli");
  prefixes.push(prefix);
  const cli = [process.execPath, "--import", "tsx", file, ...args];
  const [command, argv] = opts.headOne ? ["bash", ["-c", '"$@" | head -1; exit ${PIPESTATUS[0]}', "bash", ...cli]] : [cli[0]!, cli.slice(1)];
  const child = spawn(command, argv, {
    cwd: ROOT,
    env: { ...process.env, DATABASE_URL: db.url, REDIS_URL: redisUrl(), QUEUE_PREFIX: prefix, LOG_LEVEL: "info", LOG_PRETTY: "0", NODE_ENV: "test" },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  children.push(child);
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.once("exit", (code, signal) => r({ code, signal })));
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const nextLine = async () => (await lines.next()).value as string | undefined;
  return { child, prefix, exited, nextLine, stderr: () => stderr };
}

describe("CLI exits", () => {
  it("import | head -1: the reader closes after the first line → the import finishes and the process exits", async () => {
    const csv = join(mkdtempSync(join(tmpdir(), "cli-exit-")), "pipe.csv");
    writeFileSync(csv, "date,open,high,low,close,volume\n2022-01-01,10,12,9,11,100\n2022-01-02,11,13,10,12,50\n");
    const p = run("apps/cli/import.ts", [csv, "--symbol", "PIPE", "--session", "CRYPTO"], { headOne: true });
    expect(await within(p.nextLine(), 30_000, "the first line")).toBe("PIPE: 2 rows valid, 2 written");
    // The log lines that follow meet a closed pipe: before, the exit hung on them (and ignored SIGTERM).
    expect(await within(p.exited, 15_000, `import to exit after its reader closed (stderr: ${p.stderr()})`)).toEqual({ code: 0, signal: null });
    expect(p.stderr()).toBe("");
    const { rows } = await db.pool.query("SELECT count(*)::int AS n FROM prices_daily JOIN assets USING (asset_id) WHERE symbol = 'PIPE'");
    expect(rows[0].n).toBe(2);
  });

  it("a closer that never settles and a handle left open do not keep a stopping process alive", async () => {
    const p = spawnTs("test/fixtures/hanging-closer.ts", { BUDGET_MS: "500" });
    procs.push(p);
    await p.waitFor("ready");
    p.kill("SIGTERM");
    expect(await within(p.exited, 5_000, "the process to exit")).toEqual({ code: 0, signal: null });
    expect(p.events.find((e) => e.msg === "close timed out; going on")).toMatchObject({ closer: "never" });
  });

  it("enqueue --wait: SIGTERM stops the waiting at once (exit 143) and leaves the run enqueued whole", async () => {
    const asOf = "2022-11-15";
    const assets = ["BTC-USD", "ETH-USD"];
    // The CLI enqueues only symbols the assets table knows.
    for (const a of assets) await upsertAsset(db.pool, a, "CRYPTO");
    const p = run("apps/cli/enqueue.ts", ["daily-refresh", "--assets", assets.join(","), "--as-of", asOf, "--wait", "--timeout", "600"]);
    const first = await within(p.nextLine(), 30_000, "the enqueue line");
    const runId = /^enqueued run (\S+) \(root job (\S+)\)/.exec(first ?? "");
    expect(runId, first).not.toBeNull();
    // No worker runs: it would wait for 10 minutes.
    p.child.kill("SIGTERM");
    expect(await within(p.exited, 10_000, `the CLI to exit on SIGTERM (stderr: ${p.stderr()})`)).toEqual({ code: 143, signal: null });
    expect(p.stderr()).toMatch(/ta-fleet enqueue: interrupted by SIGTERM\n$/);

    const fleet = new Fleet({ redisUrl: redisUrl(), prefix: p.prefix });
    try {
      // Every job of the tree the CLI adds (one atomic flow), none missing.
      const walk = (n: FlowJob): FlowJob[] => [n, ...(n.children ?? []).flatMap(walk)];
      const jobs = walk(runTree(fleet, assets, runKey(asOf, assets)));
      expect(jobs[0]!.opts!.jobId).toBe(runId![2]);
      // The run root, and per asset: summary, strategies gate, quality, features, indicators gate, ema.
      expect(jobs).toHaveLength(1 + assets.length * 6);
      for (const j of jobs) expect(await fleet.queue(KINDS[j.queueName as KindName]).getJobState(j.opts!.jobId!), j.opts!.jobId).not.toBe("unknown");
    } finally {
      await fleet.close();
    }
  });
});
