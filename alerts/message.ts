// Pure: the chat message for a stored alert — severity marker, title, key figures, repeat count, link and
// the id to acknowledge it by. Plain text (no parse mode), so no figure can break the formatting.
import type { AlertRow } from "../db/repos/alerts.ts";
import { messageKind } from "./lifecycle.ts";
import { linkUrl } from "./links.ts";
import type { LinkTarget, Severity } from "./types.ts";

export const MARKERS: Record<Severity, string> = { critical: "🔴", warning: "🟠", info: "🔵" };
const TELEGRAM_MAX = 4096;

export function renderAlert(row: AlertRow, dashboardBase: string, now: Date): string {
  const kind = messageKind(row);
  const sev = row.severity.toUpperCase();
  const lines: string[] = [];
  const link = linkUrl(dashboardBase, row.metadata.link as LinkTarget | undefined);
  if (kind === "resolved") {
    lines.push(`✅ RESOLVED · ${row.title}`);
    lines.push(`was ${sev}, open ${duration(row.triggered_at, row.resolved_at ?? now)} (since ${clock(row.triggered_at)}), seen ${row.repeat_count}×`);
    lines.push(`last: ${firstLine(row.message)}`);
  } else {
    const head = kind === "escalated" ? `⬆️ ${MARKERS[row.severity]} ${sev} (was ${row.notified_severity?.toUpperCase()})` : `${MARKERS[row.severity]} ${sev}`;
    lines.push(`${head} · ${row.title}`);
    lines.push(...row.message.split("\n"));
    if (row.repeat_count > 1) lines.push(`seen ${row.repeat_count}× since ${clock(row.triggered_at)} (last ${clock(row.last_seen_at)})`);
    if (row.acknowledged_at) lines.push(`acknowledged by ${row.acknowledged_by ?? "?"} at ${clock(row.acknowledged_at)}`);
  }
  lines.push(`🔗 ${link}`);
  lines.push(`alert #${row.alert_id} · ${row.alert_type}${kind === "resolved" || row.acknowledged_at ? "" : ` · /ack ${row.alert_id}`}`);
  const text = lines.join("\n");
  return text.length > TELEGRAM_MAX ? `${text.slice(0, TELEGRAM_MAX - 1)}…` : text;
}

function firstLine(s: string): string {
  return s.split("\n", 1)[0] ?? "";
}

export function clock(d: Date): string {
  return `${d.toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

export function duration(from: Date, to: Date): string {
  return seconds((to.getTime() - from.getTime()) / 1000);
}

export function seconds(n: number): string {
  const s = Math.max(0, Math.round(n));
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  if (s < 172_800) return `${(s / 3600).toFixed(1)} h`;
  return `${(s / 86_400).toFixed(1)} d`;
}
