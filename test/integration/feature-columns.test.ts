// Columnar reads (db/repos/column-reads.ts readColumns): a float8 history through COPY (FORMAT binary) is the
// stored bits exactly — the values a text row per day gives —, NULL is NaN, rows come oldest first. Columnar
// writes (db/repos/columns.ts): the COPY of new rows stores and counts what the upsert does.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { READ_AS_OF, READ_ASSET, readColumns } from "../../db/repos/column-reads.ts";
import { insertNewColumns, upsertColumns, type ColumnData, type TableSpec } from "../../db/repos/columns.ts";
import { inTransaction } from "../../db/pool.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/db.ts";

const PROBE = `FROM cols_probe WHERE k = ${READ_ASSET} AND ts <= ${READ_AS_OF}`;
let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
  await db.pool.query("CREATE TABLE cols_probe (k int, ts date, a float8, b float8)");
  await db.pool.query(
    `INSERT INTO cols_probe VALUES
       (1, '2024-01-03', 0.1, NULL), (1, '2024-01-01', '-0', 'Infinity'), (1, '2024-01-02', 4.9e-324, 'NaN'),
       (1, '2024-01-04', 1.7976931348623157e308, 1e-300), (2, '2024-01-01', 1, 1)`,
  );
});
afterAll(async () => {
  await db.drop();
});

describe("readColumns", () => {
  it("gives the stored doubles bit for bit, oldest first, NULL as NaN; through a pool or a client", async () => {
    const text = await db.pool.query("SELECT to_char(ts, 'YYYY-MM-DD') AS ts, a, b FROM cols_probe WHERE k = 1 AND ts <= '2024-01-04' ORDER BY ts");
    const num = (v: unknown) => (v === null ? NaN : Number(v));
    const client = await db.pool.connect();
    try {
      for (const via of [db.pool, client]) {
        const r = await readColumns(via, ["a", "b"], PROBE, { assetId: 1, asOf: "2024-01-04" });
        expect(r.dates).toEqual(text.rows.map((x) => x.ts));
        for (const [j, c] of (["a", "b"] as const).entries()) {
          expect(r.cols[j]!.length).toBe(4);
          text.rows.forEach((row, i) => expect(Object.is(r.cols[j]![i], num(row[c])), `${c}[${i}]: ${r.cols[j]![i]} vs ${row[c]}`).toBe(true));
        }
      }
    } finally {
      client.release();
    }
    expect(await readColumns(db.pool, ["a"], PROBE, { assetId: 3, asOf: "2024-01-04" })).toEqual({ dates: [], cols: [new Float64Array(0)] });
  });

  it("binds the filter values as parameters: a bad one is refused by PostgreSQL, never spliced into the SQL", async () => {
    await expect(readColumns(db.pool, ["a"], PROBE, { assetId: 1, asOf: "2024-01-01' OR true --" })).rejects.toThrow(/invalid input syntax for type date/);
    await expect(readColumns(db.pool, ["a"], PROBE, { assetId: 1.5, asOf: "2024-01-04" })).rejects.toThrow(/invalid input syntax for type integer/);
    expect((await readColumns(db.pool, ["a"], PROBE, { assetId: 2, asOf: "2024-01-04" })).dates).toEqual(["2024-01-01"]);
  });
});

describe("insertNewColumns", () => {
  const spec = (table: string): TableSpec => ({ table, keys: [["k", "int4"], ["ts", "date"], ["tf", "text"]], values: [["v", "float8"], ["on", "bool"]] });
  const day = (i: number) => new Date(Date.UTC(1999, 11, 30) + i * 86_400_000).toISOString().slice(0, 10);
  const table = async (t: string) => db.pool.query(`CREATE TABLE ${t} (k int, ts date, tf text, v float8, "on" bool, PRIMARY KEY (k, ts, tf))`);
  // float8send: the stored bits, not a rendering of them.
  const dump = async (t: string) => (await db.pool.query(`SELECT k, ts::text, tf, encode(float8send(v), 'hex') AS v, "on" FROM ${t} ORDER BY k, ts, tf`)).rows;
  const EDGES = [0.1, -0, 0, Infinity, -Infinity, NaN, 4.9e-324, 1.7976931348623157e308, -2.5e-310, 1 / 3];
  const rows = (from: number, to: number, v: (i: number) => number): ColumnData => {
    const idx = Array.from({ length: to - from }, (_, i) => from + i);
    return { k: idx.map((i) => i % 3), ts: idx.map(day), tf: idx.map((i) => (i % 2 ? "1W_CAL" : "ü\\t")), v: idx.map(v), on: idx.map((i) => (i % 5 ? i % 2 === 0 : null)) };
  };

  it("stores exactly what the upsert stores (NaN as NULL, -0 as 0, every other double bit for bit), and counts it", async () => {
    await table("n_upsert");
    await table("n_copy");
    const data = rows(0, 12_000, (i) => (i < EDGES.length ? EDGES[i]! : Math.sin(i) * 10 ** ((i % 40) - 20)));
    const upserted = await upsertColumns(db.pool, spec("n_upsert"), data, 12_000);
    const copied = await inTransaction(db.pool, (tx) => insertNewColumns(tx, spec("n_copy"), data, 12_000));
    expect(copied).toBe(12_000);
    expect(upserted).toBe(12_000);
    expect(await dump("n_copy")).toEqual(await dump("n_upsert"));
  });

  it("finding rows stored after all (from before the caller kept state), it upserts: the same rows and count as the upsert", async () => {
    for (const t of ["s_upsert", "s_copy"]) {
      await table(t);
      expect(await upsertColumns(db.pool, spec(t), rows(6_000, 7_000, (i) => (i % 2 ? i : -i)), 1_000)).toBe(1_000);
    }
    const all = rows(0, 12_000, (i) => i);
    const upserted = await upsertColumns(db.pool, spec("s_upsert"), all, 12_000);
    const copied = await inTransaction(db.pool, (tx) => insertNewColumns(tx, spec("s_copy"), all, 12_000));
    expect(upserted).toBe(11_000 + 500);
    expect(copied).toBe(upserted);
    expect(await dump("s_copy")).toEqual(await dump("s_upsert"));
  });

  it("a bad value fails the write naming its column, and nothing of it is stored", async () => {
    await table("n_bad");
    const data = rows(0, 10, (i) => i);
    (data.ts as string[])[7] = "2024-02-30";
    await expect(inTransaction(db.pool, (tx) => insertNewColumns(tx, spec("n_bad"), data, 10))).rejects.toThrow(/column ts: "2024-02-30" is not a YYYY-MM-DD date/);
    expect(await dump("n_bad")).toEqual([]);
    expect(await inTransaction(db.pool, (tx) => insertNewColumns(tx, spec("n_bad"), rows(0, 10, (i) => i), 10))).toBe(10);
  });
});
