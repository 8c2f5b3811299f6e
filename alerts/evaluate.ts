// Runs the rule table: every query rule against its source (each source read once per evaluation), and
// every event the watcher reports against its event rule. Findings are stored (store.ts); alerts whose
// condition cleared are resolved. A source that fails leaves its rules' open alerts untouched.
import type { Logger } from "../ops/logger.ts";
import { findingFor } from "./findings.ts";
import { ruleByName } from "./rules.ts";
import type { AlertSources } from "./sources.ts";
import type { AlertStore } from "./store.ts";
import type { AnyRule, EventRows, RuleBody, SourceRows } from "./types.ts";

/** A condition must stay absent this long (two evaluations a minute apart) before its alert resolves. */
export const ABSENT_GRACE_S = 90;

export interface EvaluateSummary {
  rules: number;
  firing: number;
  opened: number;
  resolved: number;
  /** Sources that could not be read (their rules were skipped), with the reason. */
  skipped: Record<string, string>;
}

export async function evaluateRules(rules: readonly AnyRule[], sources: AlertSources, store: AlertStore, log: Logger, now = new Date()): Promise<EvaluateSummary> {
  const summary: EvaluateSummary = { rules: 0, firing: 0, opened: 0, resolved: 0, skipped: {} };
  const reads = new Map<keyof SourceRows, Promise<unknown[]>>();
  const read = (q: keyof SourceRows) => {
    let p = reads.get(q);
    if (!p) reads.set(q, (p = sources[q]()));
    return p;
  };
  for (const rule of rules) {
    if ("event" in rule.source) {
      if (rule.resolve === "quiet") summary.resolved += (await store.resolve({ type: rule.name, quietS: null }, now)).length;
      continue;
    }
    const q = rule.source.query;
    let rows: unknown[];
    try {
      rows = await read(q);
    } catch (err) {
      summary.skipped[q] = (err as Error).message;
      continue;
    }
    summary.rules++;
    const body = rule as unknown as RuleBody<unknown>;
    const firing: string[] = [];
    for (const row of rows) {
      const f = findingFor({ ...body, name: rule.name }, row);
      if (!f) continue;
      firing.push(f.key);
      const { opened } = await store.record(f, rule, now);
      if (opened) {
        summary.opened++;
        log.warn({ alertKey: f.key, severity: f.severity, value: f.value, threshold: f.threshold }, `alert opened: ${f.title}`);
      }
    }
    summary.firing += firing.length;
    summary.resolved += (await store.resolve({ type: rule.name, exceptKeys: firing, quietS: ABSENT_GRACE_S }, now)).length;
  }
  for (const [q, reason] of Object.entries(summary.skipped)) log.warn({ source: q, err: reason }, "alert source unavailable; its rules were skipped");
  return summary;
}

/** An event from the watcher: store its finding, or resolve the key when the rule clears on a good event. */
export async function recordEvent<E extends keyof EventRows>(rules: readonly AnyRule[], store: AlertStore, log: Logger, name: E, row: EventRows[E], now = new Date()) {
  const rule = ruleByName(rules, name);
  const body = rule as unknown as RuleBody<EventRows[E]>;
  const f = findingFor({ ...body, name: rule.name }, row);
  if (f) {
    const { row: stored, opened } = await store.record(f, rule, now);
    log.warn({ alertId: stored.alert_id, alertKey: f.key, severity: stored.severity, repeats: stored.repeat_count }, `${opened ? "alert opened" : "alert repeated"}: ${f.title}`);
    return stored;
  }
  if (rule.resolve === "cleared") await store.resolve({ type: rule.name, key: body.key(row), quietS: 0 }, now);
  return undefined;
}
