// Every entry point — each npm script that runs one of ours, each Procfile process, each enqueue command —
// answers --help / -h with its usage on stdout and exit 0, before it reads the environment; and the one-shot
// commands end without "shutting down" / "bye" at info level (their own output says how they ended).
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { COMMANDS } from "../../producers/commands/index.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/db.ts";
import { redisUrl } from "../helpers/redis.ts";

const execFileP = promisify(execFile);
const ROOT = resolve(import.meta.dirname, "../..");
// Spawning tsx costs about a second of CPU each: a few at a time on a two-core machine.
const PARALLEL = 3;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Our TypeScript entry points: `{ file, usage }`, usage being the first line --help must print. */
function entryPoints(): Array<{ name: string; file: string; usage: string }> {
  const found = new Map<string, { name: string; file: string; usage: string }>();
  const scripts = (JSON.parse(readFileSync(resolve(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts;
  for (const [name, command] of Object.entries(scripts)) {
    const file = /^(?:exec )?node --import tsx (\S+\.ts)$/.exec(command)?.[1];
    if (file) found.set(file, { name: `npm run ${name}`, file, usage: `Usage: npm ${name === "start" ? "start" : `run ${name}`}` });
  }
  for (const line of readFileSync(resolve(ROOT, "Procfile"), "utf8").split("\n")) {
    const file = /^\w+:\s*(?:exec )?node --import tsx (\S+\.ts)$/.exec(line.trim())?.[1];
    if (file && !found.has(file)) found.set(file, { name: `Procfile ${file}`, file, usage: `Usage: node --import tsx ${file}` });
  }
  return [...found.values()];
}

function run(args: string[], env: Record<string, string>): Promise<Run> {
  return execFileP(process.execPath, ["--import", "tsx", ...args], { cwd: ROOT, env: { ...process.env, ...env }, timeout: 60_000 }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (err: { code: number; stdout: string; stderr: string }) => ({ code: err.code, stdout: err.stdout, stderr: err.stderr }),
  );
}

/** Runs `jobs` at most `limit` at a time; results in the order of `jobs`. */
async function bounded<T>(jobs: Array<() => Promise<T>>, limit: number): Promise<T[]> {
  const results: T[] = new Array<T>(jobs.length);
  let next = 0;
  const lane = async () => {
    while (next < jobs.length) {
      const i = next++;
      results[i] = await jobs[i]!();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, jobs.length) }, lane));
  return results;
}

const records = (stdout: string) =>
  stdout
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as { level: number; msg: string; reason?: string });

describe("--help", () => {
  it("every entry point and the enqueue commands print their usage on stdout and exit 0, whatever the environment", { timeout: 180_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), "cli-help-"));
    // A broken variable (which would exit 2) and servers nobody can reach: help needs neither.
    const env = { WORKER_CONCURRENCY: "-3", DATA_DIR: dir, REDIS_URL: "redis://127.0.0.1:1", DATABASE_URL: "postgres://127.0.0.1:1/none" };
    const entries = entryPoints();
    expect(entries.map((e) => e.file).sort()).toEqual(
      [
        "apps/bot/main.ts",
        "apps/cli/check-config.ts",
        "apps/cli/cost.ts",
        "apps/cli/demo.ts",
        "apps/cli/enqueue.ts",
        "apps/cli/import.ts",
        "apps/cli/migrate.ts",
        "apps/cli/start.ts",
        "apps/cli/stop.ts",
        "apps/scheduler/main.ts",
        "apps/web/main.ts",
        "apps/worker/main.ts",
        "bench/backtest.ts",
        "bench/capacity.ts",
        "bench/features.ts",
        "bench/fleet.ts",
        "bench/llm.ts",
        "bench/queue.ts",
        "bench/research.ts",
        "bench/soak.ts",
        "bench/spans.ts",
      ].sort(),
    );
    // One process per entry point: -h where the flag is parsed by its own code (enqueue's commands, and
    // migrate for the shared parser), --help elsewhere.
    const short = new Set(["apps/cli/migrate.ts"]);
    // Every enqueue command's help is the same code path over the command's own options, which is why one
    // process stands for all of them: what could set one apart is an option taking --help or -h itself.
    for (const c of COMMANDS) {
      expect(Object.entries(c.options).filter(([name, o]) => name === "help" || o.short === "h"), c.name).toEqual([]);
    }
    const sub = COMMANDS.at(-1)!;
    const cases = [
      ...entries.map((e) => {
        const flag = short.has(e.file) ? "-h" : "--help";
        return { what: `${e.name} ${flag}`, args: [e.file, flag], usage: e.usage };
      }),
      { what: `enqueue ${sub.name} -h`, args: ["apps/cli/enqueue.ts", sub.name, "-h"], usage: `Usage: npm run enqueue -- ${sub.name} [options]` },
    ];
    try {
      const results = await bounded(
        cases.map((c) => () => run(c.args, env)),
        PARALLEL,
      );
      const seen = results.map((r, i) => {
        const c = cases[i]!;
        const usageLine = r.stdout.split("\n").find((l) => l.startsWith("Usage: "));
        // The npm scripts' usage lines go on with their arguments (`Usage: npm run import -- <file.csv> …`).
        const fits = usageLine === c.usage || usageLine?.startsWith(`${c.usage} `) === true;
        return { what: c.what, code: r.code, stderr: r.stderr, usage: fits ? c.usage : usageLine, logLines: records(r.stdout).length };
      });
      expect(seen).toEqual(cases.map((c) => ({ what: c.what, code: 0, stderr: "", usage: c.usage, logLines: 0 })));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("an unknown option is refused with exit 2 and the usage line, not ignored", async () => {
    const r = await run(["apps/cli/migrate.ts", "--dry-run"], { REDIS_URL: "redis://127.0.0.1:1", DATABASE_URL: "postgres://127.0.0.1:1/none" });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/^ta-fleet migrate: Unknown option '--dry-run'.*\nUsage: npm run migrate\n$/s);
  });
});

describe("one-shot commands on a pipe (JSON lines)", () => {
  let db: TestDatabase;
  let dir: string;
  beforeAll(async () => {
    db = await createTestDatabase();
    dir = mkdtempSync(join(tmpdir(), "cli-quiet-"));
  });
  afterAll(async () => {
    await db.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("migrate and import log their stop at debug only: nothing about shutting down at info", { timeout: 120_000 }, async () => {
    const csv = join(dir, "quiet.csv");
    writeFileSync(csv, "date,open,high,low,close,volume\n2022-01-01,10,12,9,11,100\n2022-01-02,11,13,10,12,50\n");
    const env = { DATABASE_URL: db.url, REDIS_URL: redisUrl(), LOG_LEVEL: "debug", LOG_FORMAT: "", LOG_PRETTY: "", NODE_ENV: "test" };
    const [migrate, imported] = await bounded(
      [() => run(["apps/cli/migrate.ts"], env), () => run(["apps/cli/import.ts", csv, "--symbol", "QUIET", "--session", "CRYPTO"], env)],
      PARALLEL,
    );
    expect({ code: migrate.code, stderr: migrate.stderr }).toEqual({ code: 0, stderr: "" });
    expect({ code: imported.code, stderr: imported.stderr }).toEqual({ code: 0, stderr: "" });
    expect(imported.stdout.split("\n").filter((l) => l && !l.startsWith("{"))).toEqual(["QUIET: 2 rows valid, 2 written"]);
    // On a pipe every log line is JSON; the stop is there, at debug (20), and so below the default level.
    expect(migrate.stdout.split("\n").filter((l) => l && !l.startsWith("{"))).toEqual([]);
    for (const out of [migrate.stdout, imported.stdout]) {
      const lifecycle = records(out)
        .filter((r) => r.msg === "shutting down" || r.msg === "bye")
        .map((r) => ({ level: r.level, msg: r.msg, reason: r.reason }));
      expect(lifecycle).toEqual([
        { level: 20, msg: "shutting down", reason: "done" },
        { level: 20, msg: "bye", reason: undefined },
      ]);
    }
    expect(records(migrate.stdout).find((r) => r.msg === "database already up to date")?.level).toBe(30);
  });
});
