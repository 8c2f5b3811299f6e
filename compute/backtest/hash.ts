/**
 * Stable parameter hashing (pure).
 *
 * paramsHash(params) = first 16 hex chars of SHA-256 over the UTF-8 canonical JSON of `params`:
 * - object keys sorted recursively by UTF-16 code unit order (Array.prototype.sort default);
 * - arrays keep their order; strings, finite numbers, booleans and null are JSON.stringify'd
 *   (so -0 → "0", 1.0 → "1");
 * - object properties whose value is undefined are omitted (as JSON.stringify does); an undefined
 *   array element becomes null (as JSON.stringify does);
 * - non-finite numbers, bigint, functions, symbols and non-plain objects (Date, Map, class instances)
 *   throw, instead of silently collapsing to null / {} and colliding.
 */
import { createHash } from "node:crypto";

function fail(path: string, what: string): never {
  throw new Error(`paramsHash: ${path}: ${what}`);
}

export function canonicalJson(value: unknown, path = "params"): string {
  if (value === null) return "null";
  switch (typeof value) {
    case "string":
    case "boolean":
      return JSON.stringify(value);
    case "number":
      if (!Number.isFinite(value)) fail(path, `non-finite number (got ${String(value)})`);
      return JSON.stringify(value);
    case "object": {
      if (Array.isArray(value)) {
        const parts = value.map((v, i) => (v === undefined ? "null" : canonicalJson(v, `${path}[${i}]`)));
        return `[${parts.join(",")}]`;
      }
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) fail(path, "not a plain object");
      const obj = value as Record<string, unknown>;
      const keys = Object.keys(obj).sort();
      const parts: string[] = [];
      for (const k of keys) {
        const v = obj[k];
        if (v === undefined) continue;
        parts.push(`${JSON.stringify(k)}:${canonicalJson(v, `${path}.${k}`)}`);
      }
      return `{${parts.join(",")}}`;
    }
    default:
      return fail(path, `unsupported type ${typeof value}`);
  }
}

export function paramsHash(params: unknown): string {
  return createHash("sha256").update(canonicalJson(params), "utf8").digest("hex").slice(0, 16);
}
