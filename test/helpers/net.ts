// Free loopback ports for the servers and fleets tests start.
import { createServer } from "node:net";

const handedOut = new Set<number>();

const bindable = (port: number) =>
  new Promise<boolean>((r) => {
    const s = createServer();
    s.once("error", () => r(false));
    s.listen({ port, host: "127.0.0.1", exclusive: true }, () => s.close(() => r(true)));
  });

/** A port the OS reports free right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/** The first of `count` consecutive free ports, at random in 20000–40000, never handed out twice per file. */
export async function freePorts(count = 1): Promise<number> {
  for (;;) {
    const base = 20_000 + Math.floor(Math.random() * (20_000 - count));
    const range = Array.from({ length: count }, (_, i) => base + i);
    if (range.some((p) => handedOut.has(p))) continue;
    if ((await Promise.all(range.map(bindable))).every(Boolean)) {
      range.forEach((p) => handedOut.add(p));
      return base;
    }
  }
}
