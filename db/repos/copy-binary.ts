// COPY … FROM STDIN (FORMAT binary) rows from columns: PostgreSQL takes each value as stored bytes — no
// parsing of numbers or dates — and the worker writes bytes instead of formatting numbers as text. The values
// are the ones the text path (unnest of text-serialised arrays) stores: NaN → NULL, -0 → 0 (node-postgres
// writes -0 as "0"), a double otherwise exactly.
/** The column types of the columnar writes (columns.ts). */
export type PgType = "float8" | "int4" | "date" | "text" | "bool" | "jsonb";

type Value = number | string | boolean | null;

const SIGNATURE = Buffer.from("PGCOPY\n\xff\r\n\0", "latin1");
const TRAILER = Buffer.from([0xff, 0xff]);
const PG_EPOCH_DAYS = 10_957; // 2000-01-01, PostgreSQL's day 0, counted from 1970-01-01
const DAY = /^(\d{4})-(\d{2})-(\d{2})$/;

export class CopyValueError extends Error {}

// A write stacks many series over the same days: each day is parsed and checked once per process (as many
// entries as distinct valid days written, like column-reads.ts dayText; a bad one is never kept).
const dayNumbers = new Map<string, number>();

function days(v: string, column: string): number {
  let d = dayNumbers.get(v);
  if (d !== undefined) return d;
  const m = DAY.exec(v);
  const ms = m ? Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!) : NaN;
  if (!m || new Date(ms).toISOString().slice(0, 10) !== v) throw new CopyValueError(`column ${column}: ${JSON.stringify(v)} is not a YYYY-MM-DD date`);
  dayNumbers.set(v, (d = ms / 86_400_000 - PG_EPOCH_DAYS));
  return d;
}

/** Grows as rows are written; `take()` hands over what is written so far. */
class Writer {
  private buf = Buffer.allocUnsafe(1 << 16);
  private at = 0;

  private room(n: number): void {
    if (this.at + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.at + n));
    this.buf.copy(next, 0, 0, this.at);
    this.buf = next;
  }

  int16(v: number): void {
    this.room(2);
    this.at = this.buf.writeInt16BE(v, this.at);
  }

  field(type: PgType, v: Value, column: string): void {
    if (v === null || (typeof v === "number" && Number.isNaN(v))) {
      this.room(4);
      this.at = this.buf.writeInt32BE(-1, this.at);
      return;
    }
    switch (type) {
      case "float8":
        this.room(12);
        this.at = this.buf.writeInt32BE(8, this.at);
        this.at = this.buf.writeDoubleBE(v === 0 ? 0 : (v as number), this.at);
        return;
      case "int4":
        if (!Number.isInteger(v) || (v as number) < -(2 ** 31) || (v as number) >= 2 ** 31) throw new CopyValueError(`column ${column}: ${String(v)} is not an int4`);
        this.room(8);
        this.at = this.buf.writeInt32BE(4, this.at);
        this.at = this.buf.writeInt32BE(v as number, this.at);
        return;
      case "date":
        this.room(8);
        this.at = this.buf.writeInt32BE(4, this.at);
        this.at = this.buf.writeInt32BE(days(String(v), column), this.at);
        return;
      case "bool":
        this.room(5);
        this.at = this.buf.writeInt32BE(1, this.at);
        this.at = this.buf.writeUInt8(v ? 1 : 0, this.at);
        return;
      case "text":
      case "jsonb": {
        // jsonb's binary form is a version byte, then the text.
        const s = type === "jsonb" && typeof v !== "string" ? JSON.stringify(v) : String(v);
        const head = type === "jsonb" ? 1 : 0;
        const len = Buffer.byteLength(s);
        this.room(4 + head + len);
        this.at = this.buf.writeInt32BE(head + len, this.at);
        if (head) this.at = this.buf.writeUInt8(1, this.at);
        this.at += this.buf.write(s, this.at);
        return;
      }
    }
  }

  take(): Buffer {
    const out = Buffer.from(this.buf.subarray(0, this.at));
    this.at = 0;
    return out;
  }

  raw(b: Buffer): void {
    this.room(b.length);
    this.at += b.copy(this.buf, this.at);
  }
}

/** The COPY stream's bytes, `rowsPerPart` rows per buffer (bounded memory for large writes). */
export function* binaryCopyParts(
  columns: ReadonlyArray<readonly [string, PgType]>,
  data: Record<string, ArrayLike<Value>>,
  rows: number,
  rowsPerPart = 5_000,
): Generator<Buffer> {
  const w = new Writer();
  w.raw(SIGNATURE);
  w.raw(Buffer.alloc(8)); // flags and header extension length, both 0
  const cols = columns.map(([name, type]) => ({ name, type, values: data[name]! }));
  for (let r = 0; r < rows; r++) {
    w.int16(cols.length);
    for (const c of cols) w.field(c.type, c.values[r]!, c.name);
    if ((r + 1) % rowsPerPart === 0) yield w.take();
  }
  w.raw(TRAILER);
  yield w.take();
}
