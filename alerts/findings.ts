// Pure: one rule applied to one row → a finding (or none). The severity is that of the most severe level
// whose threshold the value crosses; the message lists the value against that threshold, then the figures.
import type { Finding, Level, Op, RuleBody } from "./types.ts";

const crosses: Record<Op, (value: number, at: number) => boolean> = {
  ">": (v, at) => v > at,
  ">=": (v, at) => v >= at,
  "<": (v, at) => v < at,
};

export function findingFor<Row>(rule: RuleBody<Row> & { name: string }, row: Row): Finding | undefined {
  const value = rule.value(row);
  if (!Number.isFinite(value)) return undefined;
  let hit: { level: Level; index: number } | undefined;
  rule.levels.forEach((level, index) => {
    if (crosses[rule.op](value, level.at)) hit = { level, index };
  });
  if (!hit) return undefined;
  const lines = [rule.valueText?.(row) ?? `${rule.valueLabel}: ${formatValue(value, rule.unit)} (threshold ${rule.op} ${formatValue(hit.level.at, rule.unit)})`];
  for (const [k, v] of Object.entries(rule.figures?.(row) ?? {})) {
    if (v !== undefined && v !== "") lines.push(`${k}: ${typeof v === "number" ? formatNumber(v) : v}`);
  }
  const link = rule.link?.(row);
  return {
    rule: rule.name,
    key: rule.key(row),
    severity: hit.level.severity,
    level: hit.index,
    component: rule.component(row),
    title: rule.title(row),
    message: lines.join("\n"),
    threshold: hit.level.at,
    value,
    ...(link ? { link } : {}),
  };
}

export function formatNumber(n: number): string {
  if (Number.isInteger(n)) return String(n);
  const abs = Math.abs(n);
  return abs >= 100 ? n.toFixed(0) : abs >= 1 ? n.toFixed(1) : n.toPrecision(2);
}

export function formatValue(n: number, unit: RuleBody<unknown>["unit"]): string {
  const s = formatNumber(n);
  if (!unit) return s;
  return unit === "×" ? `${s}×` : `${s} ${unit}`;
}
