// After each test file: every socket, server, child process and signal listener the file opened must be
// gone (polled with a deadline, since closes settle asynchronously).
import { afterAll, beforeAll } from "vitest";

const WATCHED = new Set(["TCPSocketWrap", "TCPServerWrap", "ProcessWrap", "PipeWrap"]);
const SIGNALS = ["SIGINT", "SIGTERM"] as const;

function snapshot() {
  const resources: Record<string, number> = {};
  for (const r of process.getActiveResourcesInfo()) if (WATCHED.has(r)) resources[r] = (resources[r] ?? 0) + 1;
  const listeners = Object.fromEntries(SIGNALS.map((s) => [s, process.listenerCount(s)]));
  return { resources, listeners };
}

let baseline: ReturnType<typeof snapshot>;

beforeAll(() => {
  baseline = snapshot();
});

afterAll(async () => {
  const deadline = Date.now() + 5_000;
  let leaks: string[] = [];
  for (;;) {
    const now = snapshot();
    leaks = [
      ...Object.entries(now.resources)
        .filter(([k, n]) => n > (baseline.resources[k] ?? 0))
        .map(([k, n]) => `${k}: ${n - (baseline.resources[k] ?? 0)} more than at start`),
      ...SIGNALS.filter((s) => now.listeners[s]! > baseline.listeners[s]!).map((s) => `${s} listeners: ${now.listeners[s]} (was ${baseline.listeners[s]})`),
    ];
    if (!leaks.length || Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  if (leaks.length) throw new Error(`resources left open by this test file: ${leaks.join("; ")}`);
});
