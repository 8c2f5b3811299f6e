// Child processes that report JSON-line events on stdout; tests await events instead of sleeping.
import { spawn, type ChildProcess } from "node:child_process";
import { resolve } from "node:path";
import { poll } from "./wait.ts";

export interface EventProcess {
  child: ChildProcess;
  pid: number;
  events: Array<Record<string, unknown>>;
  stderr: string[];
  waitFor(event: string, match?: Record<string, unknown>, timeoutMs?: number): Promise<Record<string, unknown>>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(signal?: NodeJS.Signals): void;
}

const ROOT = resolve(import.meta.dirname, "../..");

export function spawnTs(file: string, env: Record<string, string>): EventProcess {
  return spawnEvents(process.execPath, ["--import", "tsx", resolve(ROOT, file)], env);
}

/** Any command in the project root, e.g. `npm start` as an operator runs it. */
export function spawnEvents(command: string, args: string[], env: Record<string, string>): EventProcess {
  const child = spawn(command, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  const events: Array<Record<string, unknown>> = [];
  const stderr: string[] = [];
  let buf = "";
  child.stdout!.on("data", (d: Buffer) => {
    buf += d.toString();
    let i: number;
    while ((i = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      try {
        events.push(JSON.parse(line));
      } catch {
        /* not an event line */
      }
    }
  });
  child.stderr!.on("data", (d: Buffer) => stderr.push(d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.once("exit", (code, signal) => r({ code, signal })));
  return {
    child,
    pid: child.pid!,
    events,
    stderr,
    exited,
    // Generous: starting several tsx processes at once on a loaded 2-core machine takes tens of seconds.
    waitFor: (event, match = {}, timeoutMs = 60_000) =>
      poll(
        () => events.find((e) => (e.event === event || e.msg === event) && Object.entries(match).every(([k, v]) => e[k] === v)),
        `event ${event} ${JSON.stringify(match)} from pid ${child.pid} (stderr: ${stderr.join("").slice(-500)})`,
        timeoutMs,
      ),
    kill: (signal = "SIGTERM") => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
  };
}

/** Kills (SIGKILL) whatever is still running and waits for the exits. */
export async function reap(procs: EventProcess[]): Promise<void> {
  for (const p of procs) p.kill("SIGKILL");
  await Promise.all(procs.map((p) => p.exited));
}
