// The embedded default refuses ports held by something that is not its own server, and never leaves a
// half-started stack behind.
import { mkdtempSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ensureStack, stopStack } from "../../ops/embedded/stack.ts";
import { portOpen } from "../../ops/embedded/net.ts";
import { freePort } from "../helpers/net.ts";

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

async function squat(): Promise<number> {
  // Answers like an unrelated service; resets from our probes closing early are expected.
  const s = createServer((sock) => sock.on("error", () => {}).end("HTTP/1.1 400 nope\r\n\r\n"));
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", () => r()));
  return (s.address() as { port: number }).port;
}

describe("embedded stack", () => {
  it("a port held by another program → a clear error naming the port and the way out", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "stack-"));
    const port = await squat();
    await expect(ensureStack({ dataDir, redisPort: port, pgPort: await freePort() })).rejects.toThrow(
      new RegExp(`port ${port} is taken by a process that is not ta-fleet's redis .*set EMBED_REDIS_PORT, or set REDIS_URL`),
    );
  });

  it("when PostgreSQL cannot start, the Redis this call started is stopped again", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "stack-"));
    const redisPort = await freePort();
    const pgPort = await squat();
    await expect(ensureStack({ dataDir, redisPort, pgPort })).rejects.toThrow(new RegExp(`port ${pgPort} is taken .*EMBED_PG_PORT`));
    expect(await portOpen(redisPort)).toBe(false);
    expect(await stopStack(dataDir)).toEqual([]);
  });

  it("configured URLs start nothing local", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "stack-"));
    const s = await ensureStack({ dataDir, redisPort: 1, pgPort: 1, redisUrl: "redis://example.invalid:6379", databaseUrl: "postgres://u@example.invalid/db" });
    expect(s).toEqual({ redisUrl: "redis://example.invalid:6379", databaseUrl: "postgres://u@example.invalid/db", started: [] });
  });
});
