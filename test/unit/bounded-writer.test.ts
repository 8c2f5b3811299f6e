import { describe, expect, it } from "vitest";
import { BoundedWriter, isDataError } from "../../ops/bounded-writer.ts";
import { poll } from "../helpers/wait.ts";

const dataError = Object.assign(new Error("invalid input syntax for type json"), { code: "22P02" });

describe("BoundedWriter", () => {
  it("writes in FIFO batches and drops (counting) what exceeds its bound", async () => {
    const written: number[][] = [];
    const w = new BoundedWriter<number>({ maxPending: 5, batchSize: 2, write: async (b) => void written.push(b) });
    expect(w.push([1, 2, 3, 4, 5, 6, 7])).toBe(5);
    expect(await w.flush()).toBe(true);
    expect(written).toEqual([[1, 2], [3, 4], [5]]);
    expect(w.stats()).toEqual({ written: 5, dropped: 2, pending: 0, failures: 0 });
    await w.close();
  });

  it("with a linger, items pushed one by one within it go as one batch; a full batch, flush() and close() do not wait", async () => {
    const written: number[][] = [];
    const w = new BoundedWriter<number>({ maxPending: 100, batchSize: 3, lingerMs: 60_000, write: async (b) => void written.push(b) });
    w.push([1]);
    w.push([2]);
    await Promise.resolve();
    expect(written).toEqual([]);
    // A full batch starts a write at once, which takes everything pending.
    w.push([3, 4]);
    await poll(() => w.stats().written === 4, "the pending items written", 2_000);
    expect(written).toEqual([[1, 2, 3], [4]]);
    w.push([5]);
    expect(await w.flush(1_000)).toBe(true);
    w.push([6]);
    await w.close(1_000);
    expect(written).toEqual([[1, 2, 3], [4], [5], [6]]);
    expect(w.stats()).toMatchObject({ written: 6, dropped: 0, pending: 0 });
  });

  it("drops a batch the server rejects for its content instead of retrying it forever", async () => {
    const written: string[][] = [];
    const errors: string[] = [];
    const w = new BoundedWriter<string>({
      maxPending: 10,
      batchSize: 1,
      isPermanent: isDataError,
      onError: (e) => errors.push(e.message),
      write: async ([x]) => {
        if (x === "poison") throw dataError;
        written.push([x!]);
      },
    });
    w.push(["a", "poison", "b"]);
    expect(await w.flush()).toBe(true);
    expect(written).toEqual([["a"], ["b"]]);
    expect(w.stats()).toMatchObject({ written: 2, dropped: 1, failures: 1 });
    expect(errors).toEqual(["invalid input syntax for type json"]);
    expect(isDataError(Object.assign(new Error("down"), { code: "ECONNREFUSED" }))).toBe(false);
    await w.close();
  });

  it("treats a write that never settles as failed and retries the same batch", async () => {
    let calls = 0;
    const seen: number[][] = [];
    const w = new BoundedWriter<number>({
      maxPending: 10,
      batchSize: 10,
      timeoutMs: 50,
      retryMs: 10,
      write: (b) => {
        seen.push(b);
        return ++calls === 1 ? new Promise<void>(() => {}) : Promise.resolve();
      },
    });
    w.push([1, 2]);
    expect(await w.flush(2_000)).toBe(true);
    expect(seen).toEqual([[1, 2], [1, 2]]);
    expect(w.stats()).toMatchObject({ written: 2, failures: 1, lastError: "write timed out after 50 ms" });
    await w.close();
  });

  it("close() with the sink down gives up after one more attempt and counts the rest as dropped", async () => {
    let attempts = 0;
    const w = new BoundedWriter<number>({
      maxPending: 10,
      batchSize: 10,
      retryMs: 60_000,
      write: async () => {
        attempts++;
        throw new Error("down");
      },
    });
    w.push([1, 2, 3]);
    const t0 = Date.now();
    await w.close(30_000);
    // Not the 30 s bound: nothing would come of waiting.
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(attempts).toBe(2);
    expect(w.stats()).toMatchObject({ written: 0, dropped: 3, pending: 0 });
    expect(w.push([4])).toBe(0);
  });
});
