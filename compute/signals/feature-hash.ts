/**
 * Feature version hash (pure).
 *
 * featureVersionHash(columns, values) = first 16 hex chars of SHA-256 (node:crypto) over the UTF-8
 * canonical serialisation, built over `columns` in the EXPLICIT order given (not sorted):
 *   for each name: name + "\n" + values[name] joined by "," + "\n"
 * Each number is formatted as "NaN" when NaN, otherwise with Number.prototype.toString(), which is
 * round-trip exact for finite doubles (note: -0 formats as "0"; ±Infinity as "Infinity"/"-Infinity").
 * An empty column serialises as name + "\n\n". A column missing from `values` throws.
 *
 * featureDigest(columns, values) identifies the same inputs by their bytes, without formatting a number:
 * equal digests mean equal bytes, hence an equal featureVersionHash (not conversely: −0 and 0, or two NaN
 * payloads, differ in bytes only). A job that has the digest and the hash of another job's identical
 * features reuses the hash instead of formatting every value again.
 */
import { createHash } from "node:crypto";

export function formatFeatureNumber(x: number): string {
  return Number.isNaN(x) ? "NaN" : x.toString();
}

/** A column's values as the hash serialises them: format once, then hash any prefix of it (positionRows). */
export function formatColumn(col: ArrayLike<number>): string[] {
  const parts = new Array<string>(col.length);
  for (let i = 0; i < col.length; i++) parts[i] = formatFeatureNumber(col[i]);
  return parts;
}

/** featureVersionHash over the first `end` values (all when omitted) of columns already formatted by formatColumn. */
export function formattedVersionHash(columns: readonly string[], formatted: Record<string, readonly string[]>, end?: number): string {
  const h = createHash("sha256");
  for (const name of columns) {
    const parts = Object.prototype.hasOwnProperty.call(formatted, name) ? formatted[name] : undefined;
    if (parts === undefined) throw new Error(`featureVersionHash: values has no column ${JSON.stringify(name)}`);
    h.update(`${name}\n`, "utf8");
    h.update((end === undefined ? parts : parts.slice(0, end)).join(","), "utf8");
    h.update("\n", "utf8");
  }
  return h.digest("hex").slice(0, 16);
}

export function featureVersionHash(columns: readonly string[], values: Record<string, ArrayLike<number>>): string {
  const formatted: Record<string, string[]> = {};
  for (const name of columns) {
    const col = Object.prototype.hasOwnProperty.call(values, name) ? values[name] : undefined;
    if (col === undefined) throw new Error(`featureVersionHash: values has no column ${JSON.stringify(name)}`);
    formatted[name] ??= formatColumn(col);
  }
  return formattedVersionHash(columns, formatted);
}

export function featureDigest(columns: readonly string[], values: Record<string, Float64Array>): string {
  const h = createHash("sha256");
  const length = Buffer.alloc(4);
  for (const name of columns) {
    const col = Object.prototype.hasOwnProperty.call(values, name) ? values[name] : undefined;
    if (col === undefined) throw new Error(`featureDigest: values has no column ${JSON.stringify(name)}`);
    length.writeUInt32LE(col.length);
    h.update(`${name}\n`, "utf8");
    h.update(length);
    h.update(new Uint8Array(col.buffer, col.byteOffset, col.byteLength));
  }
  return h.digest("hex");
}
