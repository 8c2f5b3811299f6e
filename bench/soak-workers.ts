// Benches' worker processes: `apps/worker/main.ts` exactly as the Procfile runs it, each with its own health
// port and log file; the soak adds its memory probe (bench/soak-probe.mjs) and a probe file.
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, existsSync, openSync, readFileSync, rmSync } from "node:fs";
import { constants } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { FLEET_ID_ENV, SUPERVISOR_PID_ENV } from "../ops/supervisor/procs.ts";
import { freePort } from "../test/helpers/net.ts";
import { poll } from "../test/helpers/wait.ts";

const ROOT = resolve(import.meta.dirname, "..");
const PROBE = pathToFileURL(resolve(import.meta.dirname, "soak-probe.mjs")).href;
const MB = 1024 * 1024;

export interface SoakWorker {
  name: string;
  pid: number;
  port: number;
  logFile: string;
  probeFile: string;
  child: ChildProcess;
  /** Its exit code, or 128 + the signal number. */
  exited: Promise<number>;
}

export interface WorkerMemory {
  /** VmRSS and VmHWM (peak) from /proc/<pid>/status. */
  rssMb: number;
  peakRssMb: number;
  /** OS threads: more while the compute pool has a thread (a refresh run's stages, idle-timed out after). */
  threads: number;
  /** V8 heap in use right after a full GC, from the probe's latest line, and when that was. */
  heapMb: number;
  heapAt: number;
}

export interface Servers {
  redisUrl: string;
  databaseUrl: string;
  prefix: string;
}

export interface StartOptions {
  /** The memory probe's interval (bench/soak-probe.mjs); none without it — the probe's forced GCs cost CPU. */
  probeMs?: number;
  /** Log files are `<label>-worker.N.log` (default `worker.N.log`). */
  label?: string;
  /** More settings for every worker (e.g. WORKER_QUEUES, WORKER_CONCURRENCY). */
  env?: NodeJS.ProcessEnv;
  /** Node flags before the entry, e.g. `--cpu-prof` to profile the workers. */
  nodeArgs?: string[];
}

export async function startWorkers(count: number, servers: Servers, dir: string, opts: StartOptions = {}): Promise<SoakWorker[]> {
  const workers: SoakWorker[] = [];
  for (let n = 1; n <= count; n++) {
    const name = `worker.${n}`;
    const port = await freePort();
    const logFile = join(dir, `${opts.label ? `${opts.label}-` : ""}${name}.log`);
    const probeFile = opts.probeMs === undefined ? "" : join(dir, `${name}.memory.jsonl`);
    if (probeFile) rmSync(probeFile, { force: true });
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      REDIS_URL: servers.redisUrl,
      DATABASE_URL: servers.databaseUrl,
      QUEUE_PREFIX: servers.prefix,
      HEALTH_PORT: String(port),
      FLEET_PROCESS: name,
      LOG_FORMAT: "json",
      LOG_LEVEL: process.env.LOG_LEVEL ?? "warn",
      ...(probeFile ? { SOAK_PROBE_FILE: probeFile, SOAK_PROBE_MS: String(opts.probeMs) } : {}),
      ...opts.env,
    };
    // Started by a bench, not by a fleet supervisor: it must not watch one (ops/supervised.ts).
    delete env[SUPERVISOR_PID_ENV];
    delete env[FLEET_ID_ENV];
    const out = openSync(logFile, "w");
    const args = [...(opts.nodeArgs ?? []), "--import", "tsx", ...(probeFile ? ["--import", PROBE] : []), "apps/worker/main.ts"];
    const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ["ignore", out, out] });
    closeSync(out);
    const exited = new Promise<number>((r) => child.once("exit", (code, signal) => r(code ?? 128 + (signal ? constants.signals[signal] : 0))));
    workers.push({ name, pid: child.pid!, port, logFile, probeFile, child, exited });
  }
  return workers;
}

const running = (w: SoakWorker) => w.child.exitCode === null && w.child.signalCode === null;

/** The first worker that has exited, as a sentence; undefined while all run. */
export function exitedWorker(workers: SoakWorker[]): string | undefined {
  const gone = workers.find((w) => !running(w));
  return gone && `${gone.name} (pid ${gone.pid}) exited with ${gone.child.exitCode ?? gone.child.signalCode} (log: ${gone.logFile})`;
}

/** Waits until every worker answers its readiness probe with 200 (what a supervisor would wait for). */
export async function waitReady(workers: SoakWorker[], timeoutMs: number): Promise<void> {
  const ready = async (w: SoakWorker) => {
    const res = await fetch(`http://127.0.0.1:${w.port}/health/readiness`);
    await res.arrayBuffer();
    return res.status === 200;
  };
  const outcome = await poll(async () => exitedWorker(workers) ?? ((await Promise.all(workers.map(ready))).every(Boolean) || undefined), "the workers' readiness", timeoutMs, 250);
  if (outcome !== true) throw new Error(`worker start-up failed: ${outcome}`);
}

function procStatus(pid: number): (field: "VmRSS" | "VmHWM" | "Threads") => number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return (field) => {
    const m = new RegExp(`^${field}:\\s+(\\d+)`, "m").exec(status);
    if (!m) throw new Error(`/proc/${pid}/status has no ${field}`);
    return Number(m[1]);
  };
}

/** The probe's latest line (undefined before its first). */
function lastProbe(w: SoakWorker): { t: number; heapUsed: number } | undefined {
  if (!existsSync(w.probeFile)) return undefined;
  const lines = readFileSync(w.probeFile, "utf8").trimEnd().split("\n");
  const last = lines.at(-1);
  return last ? (JSON.parse(last) as { t: number; heapUsed: number }) : undefined;
}

export function workerMemory(w: SoakWorker): WorkerMemory {
  const probe = lastProbe(w);
  const status = procStatus(w.pid);
  // /proc gives kB.
  return { rssMb: status("VmRSS") / 1024, peakRssMb: status("VmHWM") / 1024, threads: status("Threads"), heapMb: probe ? probe.heapUsed / MB : Number.NaN, heapAt: probe?.t ?? 0 };
}

/** Waits for every worker's probe to report after `since` (a heap figure from after that moment). */
export async function freshMemory(workers: SoakWorker[], since: number, timeoutMs: number): Promise<WorkerMemory[]> {
  await poll(() => workers.every((w) => (lastProbe(w)?.t ?? 0) > since), "a memory probe line from every worker", timeoutMs, 100);
  return workers.map(workerMemory);
}

/** SIGTERM (the workers finish active jobs and flush telemetry), SIGKILL after `graceMs`; the exit codes. */
export async function stopWorkers(workers: SoakWorker[], graceMs: number): Promise<number[]> {
  for (const w of workers) if (running(w)) w.child.kill("SIGTERM");
  const all = Promise.all(workers.map((w) => w.exited));
  let timer: NodeJS.Timeout | undefined;
  const late = await Promise.race([all, new Promise<"late">((r) => (timer = setTimeout(r, graceMs, "late")))]).finally(() => clearTimeout(timer));
  if (late === "late") killWorkers(workers);
  return all;
}

/** Synchronous last resort (process 'exit'): nothing the soak started outlives it. */
export function killWorkers(workers: SoakWorker[]): void {
  for (const w of workers) if (running(w)) w.child.kill("SIGKILL");
}
