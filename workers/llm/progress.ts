// Streamed progress on the job (at most once a second), so operators and cancellers see a stream advance.
import type { Job } from "bullmq";

export function streamProgress(job: Job, everyMs = 1_000): (chunk: string) => void {
  let chars = 0;
  let last = -Infinity;
  return (chunk) => {
    chars += chunk.length;
    const now = Date.now();
    if (now - last < everyMs) return;
    last = now;
    void job.updateProgress({ streamedChars: chars }).catch(() => {
      // Progress is advisory: a lost update is replaced by the next one within a second.
    });
  };
}
