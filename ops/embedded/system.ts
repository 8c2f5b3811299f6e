// Finding and installing the server binaries the embedded stack needs.
import { execFile } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { promisify } from "node:util";

const execFileP = promisify(execFile);

export class SetupError extends Error {
  override name = "SetupError";
}

export const isRoot = (): boolean => process.getuid?.() === 0;

export async function run(cmd: string, args: string[], opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}) {
  try {
    return await execFileP(cmd, args, { timeout: opts.timeoutMs ?? 120_000, env: opts.env ?? process.env, maxBuffer: 16 << 20 });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new SetupError(`${cmd} ${args.join(" ")} failed: ${(e.stderr || e.message).trim().split("\n").slice(-3).join(" | ")}`, { cause: err });
  }
}

export function which(bin: string): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(":")) {
    if (dir && existsSync(`${dir}/${bin}`)) return `${dir}/${bin}`;
  }
  return undefined;
}

/** Directory of the newest installed PostgreSQL server binaries (Debian layout), if any. */
export function postgresBinDir(): string | undefined {
  const root = "/usr/lib/postgresql";
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((v) => existsSync(`${root}/${v}/bin/postgres`))
    .sort((a, b) => Number(b) - Number(a));
  return versions.length ? `${root}/${versions[0]}/bin` : undefined;
}

let aptUpdated = false;

/** Installs Debian packages when root; otherwise fails with the exact command the user must run. */
export async function aptInstall(packages: string[], log: (msg: string) => void): Promise<void> {
  const command = `apt-get update && apt-get install -y --no-install-recommends ${packages.join(" ")}`;
  if (!isRoot()) throw new SetupError(`missing ${packages.join(", ")}: run as root: sudo sh -c '${command}'`);
  if (!which("apt-get")) throw new SetupError(`missing ${packages.join(", ")} and apt-get is unavailable: install them with your package manager`);
  log(`installing ${packages.join(", ")} with apt-get (one-time)`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  if (!aptUpdated) {
    await run("apt-get", ["update", "-qq"], { timeoutMs: 600_000, env });
    aptUpdated = true;
  }
  await run("apt-get", ["install", "-y", "-qq", "--no-install-recommends", ...packages], { timeoutMs: 900_000, env });
}
