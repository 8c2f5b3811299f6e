// Health ports come from explicit configuration per process type: instance n of a type listens on
// base + n − 1. Every port is checked before anything starts, so two fleets on one host (or a range that
// runs into another) are refused with the variable to change instead of crashing processes later.
import { createServer } from "node:net";
import { instanceName, UsageError, type Formation } from "./procfile.ts";

/** Where a process type's ports come from; `single` types listen on exactly `base` (one instance). */
export interface PortSource {
  variable: string;
  base: number;
  single?: boolean;
}

/** Ports something else of the fleet uses (the embedded servers): never handed to a process. */
export interface ReservedPort {
  variable: string;
  port: number;
}

/** `worker.2` → its port. */
export type PortPlan = ReadonlyMap<string, number>;

export async function planPorts(formation: Formation, sources: Readonly<Record<string, PortSource>>, host: string, reserved: ReservedPort[] = []): Promise<PortPlan> {
  const owners = new Map<number, { variable: string; name: string }>(reserved.map((r) => [r.port, { variable: r.variable, name: "" }]));
  const plan = new Map<string, number>();
  for (const inst of formation) {
    const name = instanceName(inst);
    const src = sources[inst.type];
    if (!src) throw new UsageError(`FLEET_FORMATION: no health port is configured for process type ${inst.type}`);
    if (src.single && inst.n > 1) throw new UsageError(`FLEET_FORMATION: ${inst.type} listens on ${src.variable}, so only one ${inst.type} can run`);
    const port = src.base + inst.n - 1;
    if (port > 65_535) throw new UsageError(`${src.variable}: ${name} would use ${port}, beyond 65535; set ${src.variable}`);
    const other = owners.get(port);
    if (other) {
      const whose = other.name ? `which ${other.variable} gives ${other.name}` : `which ${other.variable} uses`;
      throw new UsageError(`${src.variable}: ${name} would use ${port}, ${whose}; set ${src.variable} or ${other.variable}`);
    }
    owners.set(port, { variable: src.variable, name });
    plan.set(name, port);
  }
  for (const [name, port] of plan) {
    const { variable } = owners.get(port)!;
    const err = await bindError(port, host);
    if (err?.code === "EADDRINUSE") throw new UsageError(`${variable}: ${name} would use ${port}, which is in use (another fleet?); set ${variable}`, { cause: err });
    if (err) throw new UsageError(`${variable}: ${name} cannot listen on ${host}:${port} (${err.message}); set ${variable}`, { cause: err });
  }
  return plan;
}

/** Binds and releases the port: the only reliable "is it free" on this host. */
function bindError(port: number, host: string): Promise<NodeJS.ErrnoException | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", (err: NodeJS.ErrnoException) => resolve(err));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(undefined)));
  });
}
