// The fingerprint of a stage's inputs over their first n bars: dates, the value columns' exact bits and the
// settings that shape the output. Equal fingerprints mean the computation over those bars gives what is stored.
import { createHash } from "node:crypto";

export function fingerprint(n: number, dates: readonly string[], cols: readonly Float64Array[], settings: string): string {
  const h = createHash("sha256").update(settings).update("\n").update(dates.slice(0, n).join(","));
  for (const c of cols) {
    if (c.length < n) throw new Error(`fingerprint: a column has ${c.length} values, expected at least ${n}`);
    h.update(new Uint8Array(c.buffer, c.byteOffset, n * 8));
  }
  return h.digest("hex").slice(0, 32);
}
