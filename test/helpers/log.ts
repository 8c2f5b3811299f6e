import { Writable } from "node:stream";
import { createLogger } from "../../ops/logger.ts";

/** A logger that keeps its JSON lines in memory, for asserting on (and keeping test output quiet). */
export function memoryLogger(service = "test") {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, cb) {
      lines.push(...chunk.toString().split("\n").filter(Boolean));
      cb();
    },
  });
  const log = createLogger({ service, level: "debug", destination });
  return { log, lines, records: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}
