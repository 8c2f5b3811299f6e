/**
 * Feature version hash (pure).
 *
 * featureVersionHash(columns, values) = first 16 hex chars of SHA-256 (node:crypto) over the UTF-8
 * canonical serialisation, built over `columns` in the EXPLICIT order given (not sorted):
 *   for each name: name + "\n" + values[name] joined by "," + "\n"
 * Each number is formatted as "NaN" when NaN, otherwise with Number.prototype.toString(), which is
 * round-trip exact for finite doubles (note: -0 formats as "0"; ±Infinity as "Infinity"/"-Infinity").
 * An empty column serialises as name + "\n\n". A column missing from `values` throws.
 */
import { createHash } from "node:crypto";

export function formatFeatureNumber(x: number): string {
  return Number.isNaN(x) ? "NaN" : x.toString();
}

export function featureVersionHash(columns: readonly string[], values: Record<string, ArrayLike<number>>): string {
  const h = createHash("sha256");
  for (const name of columns) {
    const col = Object.prototype.hasOwnProperty.call(values, name) ? values[name] : undefined;
    if (col === undefined) throw new Error(`featureVersionHash: values has no column ${JSON.stringify(name)}`);
    const parts = new Array<string>(col.length);
    for (let i = 0; i < col.length; i++) parts[i] = formatFeatureNumber(col[i]);
    h.update(`${name}\n`, "utf8");
    h.update(parts.join(","), "utf8");
    h.update("\n", "utf8");
  }
  return h.digest("hex").slice(0, 16);
}
