// A whole fleet as `npm start` runs it — supervisor, Procfile processes, embedded Redis and PostgreSQL in a
// data directory of its own, on free ports — and what the fault tests need to hurt it and to judge it.
import { spawn, type ChildProcess } from "node:child_process";
import { chmodSync, closeSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Job, Queue } from "bullmq";
import { createPool, type Pool } from "../../db/pool.ts";
import { commonLastDay } from "../../db/repos/coverage.ts";
import { SAMPLE_DATA } from "../../db/sample-data.ts";
import { startPostgres, stopPostgres } from "../../ops/embedded/postgres.ts";
import { startRedis } from "../../ops/embedded/redis.ts";
import { alive, readPid } from "../../ops/embedded/process.ts";
import { closeRedis, createRedis, type Redis } from "../../queues/connection.ts";
import { runKey } from "../../queues/flows/daily-refresh.ts";
import type { RunSummary } from "../../queues/kinds/flow.ts";
import { freePort, freePorts } from "../helpers/net.ts";
import { poll, within } from "../helpers/wait.ts";

const ROOT = resolve(import.meta.dirname, "../..");
const PREFIX = "{ta}";
export const ASSETS = SAMPLE_DATA.map((s) => s.symbol);
const RUN_QUEUES = ["flow", "stage", "signal", "backtest"] as const;

/** Pids of processes whose environment carries `key=value` (what the supervisor stamps on its children). */
export function pidsWithEnv(key: string, value: string): Map<number, Record<string, string>> {
  const found = new Map<number, Record<string, string>>();
  for (const entry of readdirSync("/proc")) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    let raw: string;
    try {
      raw = readFileSync(`/proc/${pid}/environ`, "utf8");
    } catch {
      continue; // gone meanwhile, or not ours to read
    }
    const env = Object.fromEntries(raw.split("\0").filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]));
    if (env[key] === value) found.set(pid, env);
  }
  return found;
}

export interface RunOutcome {
  summary: RunSummary;
  /** Attempts beyond the one each job needs, and stalls, over every job of the run. */
  extraAttempts: number;
  stalls: number;
  /** Times a job of the run went back to wait out an outage (workers/outage-deferral.ts), no attempt spent. */
  deferrals: number;
  jobs: number;
}

export class FleetUnderTest {
  readonly dir = mkdtempSync(join(tmpdir(), "ta-fleet-faults-"));
  private ports!: Record<string, number>;
  private supervisor?: ChildProcess;
  private exit?: Promise<number | null>;
  private redisClient?: Redis;
  private pgPool?: Pool;
  readonly logFile = join(this.dir, "fleet.log");

  /** `workers`: how many worker processes FLEET_FORMATION runs (three by default). */
  constructor(private readonly workers = 3) {}

  async init(): Promise<this> {
    // PostgreSQL runs as the postgres OS user, which must be able to enter the directory.
    chmodSync(this.dir, 0o755);
    const names = ["EMBED_REDIS_PORT", "EMBED_PG_PORT", "WEB_PORT", "HEALTH_PORT_SCHEDULER", "HEALTH_PORT_BOT"];
    this.ports = Object.fromEntries(await Promise.all(names.map(async (n) => [n, await freePort()] as const)));
    // Workers take consecutive ports from their base.
    this.ports.HEALTH_PORT_WORKER = await freePorts(this.workers);
    return this;
  }

  get env(): Record<string, string> {
    return {
      ...Object.fromEntries(Object.entries(this.ports).map(([k, v]) => [k, String(v)])),
      DATA_DIR: this.dir,
      FLEET_FORMATION: `web=1,worker=${this.workers},scheduler=1,bot=1`,
      LOG_PRETTY: "0",
      NODE_ENV: "test",
      WORKER_SHUTDOWN_MS: "10000",
      OUTAGE_RETRY_MAX_MS: "4000",
      // The scheduled refresh (default 00:30 UTC) would add a second run mid-test and change the checksums;
      // 00:00 UTC on 29 February is as close to never as cron gets.
      DAILY_REFRESH_CRON: "0 0 0 29 2 *",
    };
  }

  get redisUrl() {
    return `redis://127.0.0.1:${this.ports.EMBED_REDIS_PORT}`;
  }

  /** `npm start` (the script behind it), its output in this fleet's log file. */
  start(): void {
    const out = openSync(this.logFile, "a");
    const env = { ...process.env, ...this.env };
    delete env.REDIS_URL;
    delete env.DATABASE_URL;
    this.supervisor = spawn(process.execPath, ["--import", "tsx", "apps/cli/start.ts"], { cwd: ROOT, env, stdio: ["ignore", out, out] });
    closeSync(out);
    const child = this.supervisor;
    this.exit = new Promise((r) => child.once("exit", (code, signal) => r(code ?? (signal ? 128 : null))));
  }

  get supervisorPid(): number {
    return this.supervisor!.pid!;
  }

  /** The fleet's processes by Procfile name (web.1, worker.2, ...), found by the id the supervisor stamps. */
  processes(): Map<string, number> {
    const out = new Map<string, number>();
    for (const [pid, env] of pidsWithEnv("TA_FLEET_ID", this.dir)) if (env.FLEET_PROCESS) out.set(env.FLEET_PROCESS, pid);
    return out;
  }

  async waitStarted(timeoutMs = 120_000): Promise<Map<string, number>> {
    const s = this.supervisor!;
    const seen = await poll(() => {
      if (s.exitCode !== null || s.signalCode !== null) return "exited" as const;
      const procs = this.processes();
      return procs.size === 3 + this.workers ? procs : undefined;
    }, `${3 + this.workers} fleet processes (log: ${this.logFile})`, timeoutMs, 200);
    if (seen === "exited") throw new Error(`npm start exited with ${s.exitCode ?? s.signalCode}: ${readFileSync(this.logFile, "utf8").slice(-2_000)}`);
    return seen;
  }

  /** HTTP status of a process's readiness probe (worker.1 answers on HEALTH_PORT_WORKER). */
  async readiness(name: "web.1" | "worker.1" | "scheduler.1" | "bot.1"): Promise<number> {
    const port = { "web.1": this.ports.WEB_PORT, "worker.1": this.ports.HEALTH_PORT_WORKER, "scheduler.1": this.ports.HEALTH_PORT_SCHEDULER, "bot.1": this.ports.HEALTH_PORT_BOT }[name];
    const res = await fetch(`http://127.0.0.1:${port}/health/readiness`);
    await res.arrayBuffer();
    return res.status;
  }

  redis(): Redis {
    if (!this.redisClient) {
      this.redisClient = createRedis(this.redisUrl, "faults-test");
      this.redisClient.on("error", () => {}); // its server is killed on purpose
    }
    return this.redisClient;
  }

  pool(): Pool {
    this.pgPool ??= createPool(`postgres://postgres@127.0.0.1:${this.ports.EMBED_PG_PORT}/tafleet`, { max: 2 });
    return this.pgPool;
  }

  async runKey() {
    const asOf = await poll(() => commonLastDay(this.pool(), ASSETS), "the sample data to be loaded", 120_000, 200);
    return runKey(asOf, ASSETS);
  }

  /** Completed jobs of the run so far (any queue). */
  async completedJobs(): Promise<number> {
    const counts = await Promise.all(RUN_QUEUES.map((q) => this.redis().zcard(`${PREFIX}:${q}:completed`)));
    return counts.reduce((a, b) => a + b, 0);
  }

  /** Waits for the run root to finish; reads the state first and the job only once it is final. */
  async waitRun(timeoutMs = 300_000): Promise<RunOutcome> {
    const k = await this.runKey();
    const flows = new Queue("flow", { connection: this.redis(), prefix: PREFIX });
    try {
      const root = await poll(async () => {
        const state = await flows.getJobState(`run.${k.runId}`);
        if (state !== "completed" && state !== "failed") return undefined;
        return Job.fromId(flows, `run.${k.runId}`);
      }, `run ${k.runId} to finish (log: ${this.logFile})`, timeoutMs, 250);
      if (!root.returnvalue) throw new Error(`run ${k.runId} failed: ${root.failedReason}`);
      let extraAttempts = 0;
      let stalls = 0;
      let deferrals = 0;
      let jobs = 0;
      for (const name of RUN_QUEUES) {
        const q = new Queue(name, { connection: this.redis(), prefix: PREFIX });
        try {
          for (const j of await q.getJobs(["completed", "failed"], 0, -1)) {
            if (j.data?.runId !== k.runId) continue;
            jobs++;
            extraAttempts += Math.max(0, j.attemptsMade - 1);
            stalls += j.stalledCounter;
            const outage = await this.redis().hget(`${PREFIX}:${name}:${j.id}`, "ta:outage");
            deferrals += outage ? (JSON.parse(outage) as { deferrals: number }).deferrals : 0;
          }
        } finally {
          await q.close();
        }
      }
      return { summary: root.returnvalue as RunSummary, extraAttempts, stalls, deferrals, jobs };
    } finally {
      await flows.close();
    }
  }

  /** Span rows of completed job attempts, by job id: telemetry that made it to PostgreSQL. */
  async completedSpanJobIds(): Promise<string[]> {
    const { rows } = await this.pool().query<{ id: string }>("SELECT DISTINCT attributes->>'job.id' AS id FROM observability.spans WHERE attributes->>'job.outcome' = 'completed' ORDER BY 1");
    return rows.map((r) => r.id);
  }

  redisPid(): number | undefined {
    return readPid(join(this.dir, "redis", "redis.pid"));
  }

  async killRedis(): Promise<void> {
    const pid = this.redisPid();
    if (!pid) throw new Error("no redis-server pid");
    process.kill(pid, "SIGKILL");
    await poll(() => !alive(pid), "redis-server to die");
  }

  restartRedis() {
    return startRedis(this.dir, this.ports.EMBED_REDIS_PORT!, () => {});
  }

  stopPostgres() {
    return stopPostgres(this.dir);
  }

  startPostgres() {
    return startPostgres(this.dir, this.ports.EMBED_PG_PORT!, () => {});
  }

  /** SIGTERM to the supervisor (what `npm run stop` and a terminal's Ctrl-C amount to); its exit code. */
  async terminate(signal: NodeJS.Signals = "SIGTERM", timeoutMs = 60_000): Promise<number | null> {
    if (!this.supervisor || this.supervisor.exitCode !== null || this.supervisor.signalCode !== null) return this.exit ?? null;
    this.supervisor.kill(signal);
    return within(this.exit!, timeoutMs, `the supervisor to exit after ${signal} (log: ${this.logFile})`);
  }

  /** Whatever of this fleet is still alive: its processes and its embedded servers. */
  leftovers(): string[] {
    const left = [...pidsWithEnv("TA_FLEET_ID", this.dir)].map(([pid, env]) => `${env.FLEET_PROCESS ?? "process"} ${pid}`);
    const redis = this.redisPid();
    if (redis && alive(redis)) left.push(`redis-server ${redis}`);
    const pgPidFile = join(this.dir, "pg", "data", "postmaster.pid");
    const pg = existsSync(pgPidFile) ? readPid(pgPidFile) : undefined;
    if (pg && alive(pg)) left.push(`postgres ${pg}`);
    return left;
  }

  async closeClients(): Promise<void> {
    if (this.redisClient) await closeRedis(this.redisClient);
    this.redisClient = undefined;
    await this.pgPool?.end().catch(() => {});
    this.pgPool = undefined;
  }

  /**
   * Keeps the fleet's log (every process's lines) as test-artifacts/faults/<test name>.log, for reading after a
   * failure; a failed test also prints the log's warnings and errors and its last lines, which is all a CI
   * run's output keeps.
   */
  keepLog(task: { name: string; result?: { state?: string } }): void {
    if (!existsSync(this.logFile)) return;
    const dir = resolve(ROOT, "test-artifacts", "faults");
    mkdirSync(dir, { recursive: true });
    copyFileSync(this.logFile, resolve(dir, `${task.name.slice(0, 40).replace(/[^A-Za-z0-9]+/g, "-")}.log`));
    if (task.result?.state !== "fail") return;
    const lines = readFileSync(this.logFile, "utf8").trimEnd().split("\n");
    const complaints = lines.filter((l) => /"level":(4|5|6)\d/.test(l)).slice(-40);
    console.log(`fleet log of the failed test "${task.name}": its last warnings and errors\n${complaints.join("\n")}\n… and its last lines\n${lines.slice(-30).join("\n")}`);
  }

  /** Stops everything (gracefully, then by force) and removes the data directory. */
  async destroy(): Promise<void> {
    await this.closeClients();
    await this.terminate().catch(() => this.supervisor?.kill("SIGKILL"));
    for (const pid of pidsWithEnv("TA_FLEET_ID", this.dir).keys()) process.kill(pid, "SIGKILL");
    const redis = this.redisPid();
    if (redis && alive(redis)) process.kill(redis, "SIGKILL");
    await stopPostgres(this.dir).catch(() => {});
    rmSync(this.dir, { recursive: true, force: true });
  }
}
