// Columnar reads (db/repos/column-reads.ts readColumns): a float8 history through COPY (FORMAT binary) is the
// stored bits exactly — the values a text row per day gives —, NULL is NaN, rows come oldest first. Columnar
// writes (db/repos/columns.ts upsertColumns): a write that expects new rows stores and counts what the upsert does.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { READ_AS_OF, READ_ASSET, readColumns } from "../../db/repos/column-reads.ts";
import { upsertColumns, type ColumnData, type TableSpec } from "../../db/repos/columns.ts";
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

describe("upsertColumns", () => {
  const spec = (table: string): TableSpec => ({ table, keys: [["k", "int4"], ["ts", "date"]], values: [["v", "float8"]] });
  const day = (i: number) => new Date(Date.UTC(2000, 0, 1) + i * 86_400_000).toISOString().slice(0, 10);
  const rows = (from: number, to: number, v: (i: number) => number): ColumnData => {
    const idx = Array.from({ length: to - from }, (_, i) => from + i);
    return { k: idx.map(() => 1), ts: idx.map(day), v: idx.map(v) };
  };
  const dump = async (table: string) => (await db.pool.query(`SELECT ts::text, v FROM ${table} ORDER BY ts`)).rows;

  it("expecting new rows but finding some (an earlier attempt's chunk), it stores and counts what the upsert does", async () => {
    for (const t of ["w_upsert", "w_new"]) {
      await db.pool.query(`CREATE TABLE ${t} (k int, ts date, v float8, PRIMARY KEY (k, ts))`);
      // A failed attempt left rows 6,000–6,999 of the second chunk (of 5,000): half of them with other values.
      expect(await upsertColumns(db.pool, spec(t), rows(6_000, 7_000, (i) => (i % 2 ? i : -i)), 1_000)).toBe(1_000);
    }
    const all = rows(0, 12_000, (i) => i);
    const upserted = await upsertColumns(db.pool, spec("w_upsert"), all, 12_000);
    const fresh = await upsertColumns(db.pool, spec("w_new"), all, 12_000, { expectNew: true });
    expect(upserted).toBe(11_000 + 500);
    expect(fresh).toBe(upserted);
    expect(await dump("w_new")).toEqual(await dump("w_upsert"));
    expect((await dump("w_new")).every((r, i) => r.v === i)).toBe(true);
  });
});
