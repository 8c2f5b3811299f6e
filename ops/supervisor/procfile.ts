// The Procfile declares the processes; FLEET_FORMATION says how many of each run. Both are checked
// before anything starts, so a typo is a one-line refusal instead of a half-started fleet.
import { readFileSync } from "node:fs";

/** A refusal caused by the operator's input (exit 2), as opposed to a failure at run time. */
export class UsageError extends Error {
  override name = "UsageError";
}

export type Procfile = ReadonlyMap<string, string>;

/** Instances to run, in Procfile order: `{ type: "worker", n: 2 }` is `worker.2`. */
export type Formation = ReadonlyArray<{ type: string; n: number }>;

/** The process that runs once, to completion, before the formation starts. */
export const RELEASE = "release";

export function readProcfile(path: string): Procfile {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new UsageError(`cannot read the Procfile ${path}: ${(err as Error).message}`, { cause: err });
  }
  const types = new Map<string, string>();
  text.split("\n").forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith("#")) return;
    const m = /^([A-Za-z0-9_-]+):\s*(.+)$/.exec(line);
    if (!m) throw new UsageError(`${path}:${i + 1}: expected "<type>: <command>" (got ${JSON.stringify(line)})`);
    if (types.has(m[1]!)) throw new UsageError(`${path}:${i + 1}: process type ${m[1]} is declared twice`);
    types.set(m[1]!, m[2]!);
  });
  return types;
}

/** Parses `web=1,worker=2` against the Procfile; types left out do not run. */
export function parseFormation(spec: string, procfile: Procfile, variable = "FLEET_FORMATION"): Formation {
  const counts = new Map<string, number>();
  for (const part of spec.split(",").map((p) => p.trim()).filter(Boolean)) {
    const m = /^([A-Za-z0-9_-]+)=(\d+)$/.exec(part);
    if (!m) throw new UsageError(`${variable}: expected type=count pairs like web=1,worker=2 (got ${JSON.stringify(part)})`);
    const [, type, count] = m as unknown as [string, string, string];
    if (type === RELEASE) throw new UsageError(`${variable}: ${RELEASE} runs once before the fleet; it cannot be part of the formation`);
    if (!procfile.has(type)) {
      const known = [...procfile.keys()].filter((t) => t !== RELEASE).join(", ");
      throw new UsageError(`${variable}: unknown process type ${JSON.stringify(type)} (the Procfile declares ${known})`);
    }
    counts.set(type, Number(count));
  }
  const formation = [...procfile.keys()].flatMap((type) => Array.from({ length: counts.get(type) ?? 0 }, (_, i) => ({ type, n: i + 1 })));
  if (!formation.length) throw new UsageError(`${variable}: no process to run (got ${JSON.stringify(spec)})`);
  return formation;
}

export const instanceName = (i: { type: string; n: number }) => `${i.type}.${i.n}`;
