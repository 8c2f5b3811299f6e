// The pool's clients send parameterised queries as named prepared statements (db/pool.ts); a statement whose
// result changed shape under it (a migration added a column) fails once and its connection is discarded.
import { afterAll, beforeAll, expect, it } from "vitest";
import { createPool, inTransaction, type Pool } from "../../db/pool.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/db.ts";

let db: TestDatabase;
let pool: Pool;
beforeAll(async () => {
  db = await createTestDatabase();
  pool = createPool(db.url, { max: 1 });
  await db.pool.query("CREATE TABLE named_probe (id int PRIMARY KEY, v text); INSERT INTO named_probe VALUES (1, 'a')");
});
afterAll(async () => {
  await pool.end();
  await db.drop();
});

const SELECT = "SELECT * FROM named_probe WHERE id = $1";

it("a parameterised query is prepared once per connection and reused", async () => {
  await pool.query(SELECT, [1]);
  await pool.query(SELECT, [1]);
  const { rows } = await pool.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_prepared_statements WHERE statement = $1", [SELECT]);
  expect(rows[0]!.n).toBe(1);
});

it("after a column is added, the stale statement fails once, in or out of a transaction, and its connection is replaced", async () => {
  await db.pool.query("ALTER TABLE named_probe ADD COLUMN w int DEFAULT 7");
  await expect(pool.query(SELECT, [1])).rejects.toMatchObject({ code: "0A000" });
  expect((await pool.query(SELECT, [1])).rows).toEqual([{ id: 1, v: "a", w: 7 }]);
  await db.pool.query("ALTER TABLE named_probe ADD COLUMN x int DEFAULT 8");
  await expect(inTransaction(pool, (c) => c.query(SELECT, [1]))).rejects.toMatchObject({ code: "0A000" });
  expect((await inTransaction(pool, (c) => c.query(SELECT, [1]))).rows).toEqual([{ id: 1, v: "a", w: 7, x: 8 }]);
});
