// Runs the Procfile's processes: `release` once, then the formation. A process counts as started when its
// liveness probe answers; a crash after that restarts only that instance, with backoff, and a crash loop
// or a usage error (exit 2) stops the whole fleet. Every process runs in its own process group, so a stop
// reaches whatever it spawned, and writes straight to the terminal, so it never depends on this process
// being alive to write its logs.
import { spawn, type ChildProcess } from "node:child_process";
import { get } from "node:http";
import type { Logger } from "../logger.ts";
import type { PortPlan } from "./ports.ts";
import { FLEET_ID_ENV, FLEET_PROCESS_ENV, SUPERVISOR_PID_ENV, fleetId, signal } from "./procs.ts";
import { instanceName, RELEASE, type Formation, type Procfile } from "./procfile.ts";
import type { FleetLock } from "./state.ts";

export interface SupervisorOptions {
  procfile: Procfile;
  /** Where the Procfile's commands run (the Procfile's directory). */
  cwd: string;
  formation: Formation;
  ports: PortPlan;
  /** Held by this process; also where the fleet's state file is written. */
  lock: FleetLock;
  /** Where the processes listen: their liveness probes are asked there. */
  host: string;
  log: Logger;
  /** SIGTERM → up to this long → SIGKILL. */
  stopTimeoutMs: number;
  /** How long a process may take to answer its liveness probe. */
  startTimeoutMs?: number;
  /** Delay before restart n is initialMs · 2ⁿ⁻¹ up to maxMs; back to initialMs once a run lasted resetAfterMs. */
  backoff?: { initialMs: number; maxMs: number; resetAfterMs: number };
  /** More than `restarts` crashes of one instance within `windowMs` stop the fleet. */
  crashLoop?: { restarts: number; windowMs: number };
}

/** How the fleet ended: the supervisor's exit code and why. */
export interface FleetEnd {
  code: number;
  reason: string;
}

type Exit = { code: number | null; signal: NodeJS.Signals | null; error?: string };

interface Proc {
  name: string;
  child: ChildProcess;
  exited: Promise<Exit>;
  exit?: Exit;
}

interface Instance {
  type: string;
  n: number;
  name: string;
  command: string;
  port: number;
  proc?: Proc;
  startedAt: number;
  crashes: number[];
  backoffMs: number;
  restartTimer?: NodeJS.Timeout;
}

const LIVENESS = "/health/liveness";
/** Exit code meaning "bad configuration or usage": restarting cannot help. */
const USAGE_EXIT = 2;
/** Exit code after a second signal forced the stop (as ops/shutdown.ts). */
const FORCED_EXIT = 130;

export class Supervisor {
  readonly done: Promise<FleetEnd>;
  private settle!: (end: FleetEnd) => void;
  private phase: "idle" | "starting" | "running" | "stopping" | "done" = "idle";
  private forced = false;
  private env: NodeJS.ProcessEnv = {};
  private release?: Proc;
  private readonly instances: Instance[];
  private readonly backoff: NonNullable<SupervisorOptions["backoff"]>;
  private readonly crashLoop: NonNullable<SupervisorOptions["crashLoop"]>;

  constructor(private readonly opts: SupervisorOptions) {
    this.done = new Promise((r) => (this.settle = r));
    this.backoff = opts.backoff ?? { initialMs: 1_000, maxMs: 30_000, resetAfterMs: 30_000 };
    this.crashLoop = opts.crashLoop ?? { restarts: 5, windowMs: 120_000 };
    this.instances = opts.formation.map((i) => {
      const name = instanceName(i);
      const port = opts.ports.get(name);
      const command = opts.procfile.get(i.type);
      if (port === undefined || command === undefined) throw new Error(`${name}: no ${port === undefined ? "port" : "Procfile command"}`);
      return { ...i, name, command, port, startedAt: 0, crashes: [], backoffMs: this.backoff.initialMs };
    });
  }

  /** True once a stop was asked for or the fleet ended. */
  get stopping(): boolean {
    return this.phase === "stopping" || this.phase === "done";
  }

  /**
   * Runs `release`, then starts the formation and waits until every process answers its liveness probe.
   * Resolves true when the fleet is up; false when it ended instead (`done` says why).
   */
  async start(env: NodeJS.ProcessEnv): Promise<boolean> {
    if (this.phase !== "idle") return false;
    this.phase = "starting";
    this.env = env;
    const release = this.opts.procfile.get(RELEASE);
    if (release !== undefined) {
      this.release = this.spawn(RELEASE, release, {}, "debug");
      const exit = await this.release.exited;
      if (this.phase !== "starting") return false;
      if (exit.code !== 0) {
        this.end(1, `${RELEASE} (${release}) exited with ${describe(exit)}; nothing else was started`);
        return false;
      }
    }
    for (const inst of this.instances) this.launch(inst);
    const started = await Promise.all(this.instances.map((i) => this.awaitLive(i)));
    if (this.phase !== "starting" || !started.every(Boolean)) return false;
    this.phase = "running";
    this.opts.log.info({ processes: Object.fromEntries(this.instances.map((i) => [i.name, { pid: i.proc?.child.pid, port: i.port }])) }, "fleet started");
    return true;
  }

  /** Graceful stop of every process (idempotent); resolves with how the fleet ended. */
  stop(reason: string): Promise<FleetEnd> {
    if (this.phase === "idle") this.finish(0, reason);
    else this.end(0, reason);
    return this.done;
  }

  /** SIGKILLs every process at once (a second signal); the fleet then ends with exit code 130. */
  kill(): void {
    this.forced = true;
    void this.stop("forced stop");
    for (const p of this.live()) signal(-p.child.pid!, "SIGKILL");
  }

  /** SIGINT or SIGTERM stops the fleet gracefully; a second one kills it. */
  stopOnSignals(): void {
    const onSignal = (sig: NodeJS.Signals) => (this.stopping ? this.kill() : void this.stop(sig));
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
  }

  private launch(inst: Instance): void {
    // A restart is news; the first start is summed up by "fleet started".
    const restart = inst.startedAt !== 0;
    inst.startedAt = Date.now();
    inst.proc = this.spawn(inst.name, inst.command, { HEALTH_PORT: String(inst.port) }, restart ? "info" : "debug");
    const proc = inst.proc;
    void proc.exited.then((exit) => this.onExit(inst, proc, exit));
    this.recordState();
  }

  private spawn(name: string, command: string, env: NodeJS.ProcessEnv, level: "info" | "debug"): Proc {
    // detached: a process group of its own, so terminal signals reach only the supervisor, and a stop
    // reaches everything the process started. stdio inherited: no pipe through us that could break.
    const child = spawn("sh", ["-c", command], {
      cwd: this.opts.cwd,
      env: { ...this.env, ...env, [FLEET_PROCESS_ENV]: name, [SUPERVISOR_PID_ENV]: String(process.pid), [FLEET_ID_ENV]: fleetId(this.opts.lock.dataDir) },
      stdio: "inherit",
      detached: true,
    });
    const proc: Proc = {
      name,
      child,
      exited: new Promise((resolve) => {
        // A failed spawn may report only "error"; whichever comes first settles.
        child.once("exit", (code, sig) => resolve({ code, signal: sig }));
        child.once("error", (err) => resolve({ code: 127, signal: null, error: err.message }));
      }),
    };
    void proc.exited.then((exit) => (proc.exit = exit));
    this.opts.log[level]({ process: name, childPid: child.pid, port: env.HEALTH_PORT ? Number(env.HEALTH_PORT) : undefined }, `${name} spawned`);
    return proc;
  }

  /** Polls the instance's liveness probe; ends the fleet when it cannot start. */
  private async awaitLive(inst: Instance): Promise<boolean> {
    const host = this.opts.host.includes(":") ? `[${this.opts.host}]` : this.opts.host;
    const url = `http://${host}:${inst.port}${LIVENESS}`;
    const timeoutMs = this.opts.startTimeoutMs ?? 60_000;
    const deadline = Date.now() + timeoutMs;
    const proc = inst.proc!;
    while (this.phase === "starting" && !proc.exit) {
      if (await answers(url)) return true;
      if (Date.now() > deadline) {
        this.end(1, `${inst.name} did not answer ${url} within ${timeoutMs} ms`);
        return false;
      }
      await Promise.race([proc.exited, pause(200)]);
    }
    return false;
  }

  private onExit(inst: Instance, proc: Proc, exit: Exit): void {
    if (inst.proc !== proc) return;
    inst.proc = undefined;
    const what = `${inst.name} (pid ${proc.child.pid}) exited with ${describe(exit)}`;
    if (this.stopping) return;
    this.recordState();
    if (this.phase === "starting") return this.end(1, `${what} during start-up`);
    if (exit.code === USAGE_EXIT) return this.end(1, `${what} (bad configuration or usage): not restarting it`);
    const now = Date.now();
    inst.crashes = [...inst.crashes.filter((t) => now - t < this.crashLoop.windowMs), now];
    if (inst.crashes.length > this.crashLoop.restarts) {
      return this.end(1, `${inst.name} is in a crash loop: it exited ${inst.crashes.length} times within ${this.crashLoop.windowMs / 1000} s (last: ${describe(exit)})`);
    }
    if (now - inst.startedAt >= this.backoff.resetAfterMs) inst.backoffMs = this.backoff.initialMs;
    const delay = inst.backoffMs;
    inst.backoffMs = Math.min(delay * 2, this.backoff.maxMs);
    this.opts.log.warn({ process: inst.name, childPid: proc.child.pid, code: exit.code, signal: exit.signal, restartInMs: delay }, `${what}; restarting it in ${delay} ms`);
    // Not unref()ed: a pending restart is work, and may be the only thing left to keep the supervisor alive.
    inst.restartTimer = setTimeout(() => {
      inst.restartTimer = undefined;
      if (this.phase === "running") this.launch(inst);
    }, delay);
  }

  /** Ends the fleet once (first reason wins): stops every process, then settles `done`. */
  private end(code: number, reason: string): void {
    if (this.stopping) return;
    this.phase = "stopping";
    if (code) this.opts.log.error({ reason }, `stopping the fleet: ${reason}`);
    else this.opts.log.info({ reason }, "stopping the fleet");
    void this.stopAll().then(
      () => this.finish(code, reason),
      (err: Error) => this.finish(1, `${reason}; stopping the processes failed: ${err.message}`),
    );
  }

  private finish(code: number, reason: string): void {
    this.phase = "done";
    this.settle({ code: this.forced ? FORCED_EXIT : code, reason });
  }

  private async stopAll(): Promise<void> {
    for (const inst of this.instances) clearTimeout(inst.restartTimer);
    const procs = this.live();
    for (const p of procs) signal(-p.child.pid!, this.forced ? "SIGKILL" : "SIGTERM");
    const all = Promise.all(procs.map((p) => p.exited));
    if (!(await Promise.race([all.then(() => true), pause(this.opts.stopTimeoutMs).then(() => false)]))) {
      const left = this.live();
      this.opts.log.warn({ processes: left.map((p) => p.name), afterMs: this.opts.stopTimeoutMs }, "processes still running after the shutdown bound: killing them");
      for (const p of left) signal(-p.child.pid!, "SIGKILL");
      await Promise.race([all, pause(5_000)]);
    }
    // A group can outlive its leader (the release's npm → sh → node): nothing of it may stay behind.
    for (const p of procs) signal(-p.child.pid!, "SIGKILL");
    this.recordState();
    const stuck = this.live();
    if (stuck.length) throw new Error(`${stuck.map((p) => `${p.name} (pid ${p.child.pid})`).join(", ")} did not exit after SIGKILL`);
    this.opts.log.info({ processes: procs.length }, "every process stopped");
  }

  private live(): Proc[] {
    const procs = [this.release, ...this.instances.map((i) => i.proc)];
    return procs.filter((p): p is Proc => p !== undefined && p.child.pid !== undefined && !p.exit);
  }

  private recordState(): void {
    this.opts.lock.writeState(
      this.instances.flatMap((i) => (i.proc?.child.pid ? [{ type: i.type, n: i.n, pid: i.proc.child.pid, port: i.port, startedAt: new Date(i.startedAt).toISOString() }] : [])),
    );
  }
}

function describe(exit: Exit): string {
  if (exit.error) return `code ${exit.code} (${exit.error})`;
  return exit.signal ? `signal ${exit.signal}` : `code ${exit.code}`;
}

function pause(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}

/** GET → 200 within a second; a fresh connection each time, so nothing lingers between polls. */
function answers(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = get(url, { agent: false, timeout: 1_000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.once("timeout", () => req.destroy());
    req.once("error", () => resolve(false));
  });
}
