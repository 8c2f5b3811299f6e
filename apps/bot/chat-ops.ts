// What chat-ops commands do, against the real fleet and alert store; each returns the reply text.
import { openAlertCounts } from "../../db/repos/alerts.ts";
import type { Fleet } from "../../queues/fleet.ts";
import { failureText } from "../../queues/kinds/flow.ts";
import { KINDS, type KindName } from "../../queues/registry.ts";
import { linkUrl } from "../../alerts/links.ts";
import { clock, duration, seconds } from "../../alerts/message.ts";
import { queueSnapshot, type BudgetUsage } from "../../alerts/sources.ts";
import type { AlertStore } from "../../alerts/store.ts";
import { rootCause } from "../../workers/flow/children.ts";
import { workerPlace, workersByHost, type HostWorkers } from "../../ops/health.ts";

export interface ChatOpsDeps {
  fleet: Fleet;
  store: AlertStore;
  budgetUsage: BudgetUsage;
  dashboardBase: string;
  now?: () => Date;
}

const FAILED_LISTED = 10;
const RETRY_BATCH = 1_000;

export class ChatOps {
  private readonly now: () => Date;

  constructor(private readonly d: ChatOpsDeps) {
    this.now = d.now ?? (() => new Date());
  }

  private queue(name: KindName) {
    return this.d.fleet.queue(KINDS[name]);
  }

  /** Where the workers run: each queue's worker connections, by host and process. */
  private async hosts(): Promise<HostWorkers[]> {
    const perQueue = await Promise.all(this.d.fleet.allQueues().map(async (q) => (await q.getWorkers()).map((w) => ({ queue: q.name, ...workerPlace(String(w.rawname ?? "")) }))));
    return workersByHost(perQueue.flat());
  }

  async status(): Promise<string> {
    const now = this.now();
    const [queues, hosts, alerts, budgets] = await Promise.all([
      queueSnapshot(this.d.fleet, now.getTime()),
      this.hosts(),
      openAlertCounts(this.d.store.pool),
      // The status still answers when the budget store is unreachable; the budget lines then say so.
      this.d.budgetUsage(now.getTime()).catch(() => undefined),
    ]);
    const lines = [`📊 ta-fleet status · ${clock(now)}`];
    for (const q of queues) {
      const oldest = q.oldestWaitingS !== null ? `, oldest ${seconds(q.oldestWaitingS)}` : "";
      lines.push(
        `${q.paused ? "⏸" : "▶️"} ${q.queue}: ${q.waiting} waiting${oldest} · ${q.active} active · ${q.delayed} delayed · ${q.failedLastHour} failed (1 h) · ${q.workers} worker${q.workers === 1 ? "" : "s"}`,
      );
    }
    const failed = queues.reduce((n, q) => n + q.failedLastHour, 0);
    const workers = queues.reduce((n, q) => n + q.workers, 0);
    lines.push(`failures in the last hour: ${failed} · workers alive: ${workers}`);
    for (const h of hosts) {
      lines.push(`🖥 ${h.host}: ${h.processes.map((p) => `${p.role} pid ${p.pid ?? "?"} (${p.queues.length} queue${p.queues.length === 1 ? "" : "s"})`).join(", ")}`);
    }
    if (budgets === undefined) lines.push("budgets: unavailable");
    else if (!budgets.length) lines.push("budgets: none configured");
    else lines.push(`budgets: ${budgets.map((b) => `${b.provider} ${b.limit > 0 ? Math.round((b.used / b.limit) * 100) : 0} % (${b.used}/${b.limit})`).join(" · ")}`);
    const open = alerts.reduce((n, a) => n + a.open, 0);
    lines.push(open ? `open alerts: ${alerts.map((a) => `${a.open} ${a.severity} (${a.unacknowledged} unacknowledged)`).join(", ")}` : "open alerts: none");
    lines.push(`🔗 ${linkUrl(this.d.dashboardBase, undefined)}`);
    return lines.join("\n");
  }

  async failed(name: KindName): Promise<string> {
    const q = this.queue(name);
    const [total, jobs] = await Promise.all([q.getFailedCount(), q.getJobs(["failed"], 0, FAILED_LISTED - 1, false)]);
    if (!total) return `✅ ${name}: no failed jobs`;
    const now = this.now();
    const lines = [`❌ ${name}: ${total} failed job${total === 1 ? "" : "s"}${total > jobs.length ? ` (latest ${jobs.length})` : ""}`];
    for (const j of jobs) {
      const ago = j.finishedOn ? `${duration(new Date(j.finishedOn), now)} ago` : "";
      // A job failed by its child only says "child <key> failed": the reply names the job that broke instead.
      const cause = await rootCause(this.d.fleet, { queue: name, id: j.id! }, j.failedReason ?? "");
      const why = cause.queue === name && cause.jobId === j.id ? cause.reason : failureText({ cause });
      lines.push(`• ${j.id} (${j.name}) · attempts ${j.attemptsMade}/${j.opts.attempts ?? 1} · ${ago}\n  ${why.slice(0, 200)}`);
    }
    lines.push(`retry: /retry ${name} <jobId> or /retry ${name} (all)`);
    lines.push(`🔗 ${linkUrl(this.d.dashboardBase, { queue: name, status: "failed" })}`);
    return lines.join("\n");
  }

  async retry(name: KindName, jobId?: string): Promise<string> {
    const q = this.queue(name);
    if (jobId) {
      const job = await q.getJob(jobId);
      if (!job) return `⚠️ ${name}: no job ${jobId}`;
      const state = await job.getState();
      if (state !== "failed") return `⚠️ ${name}: job ${jobId} is ${state}, not failed; nothing retried`;
      await job.retry("failed");
      return `🔁 ${name}: job ${jobId} moved back to waiting`;
    }
    const count = await q.getFailedCount();
    if (!count) return `✅ ${name}: no failed jobs to retry`;
    await q.retryJobs({ state: "failed", count: RETRY_BATCH });
    return `🔁 ${name}: ${count} failed job${count === 1 ? "" : "s"} moved back to waiting`;
  }

  async pause(name: KindName): Promise<string> {
    const q = this.queue(name);
    if (await q.isPaused()) return `⏸ ${name} is already paused`;
    await q.pause();
    return `⏸ ${name} paused: workers finish active jobs and take no new ones. /resume ${name} to continue`;
  }

  async resume(name: KindName): Promise<string> {
    const q = this.queue(name);
    if (!(await q.isPaused())) return `▶️ ${name} is not paused`;
    await q.resume();
    return `▶️ ${name} resumed`;
  }

  async ack(id: number, by: string): Promise<string> {
    const r = await this.d.store.acknowledge(id, by, this.now());
    if (!r.ok) return `⚠️ ${r.reason}`;
    return `👍 alert #${id} acknowledged by ${by}: ${r.row.title} (no more reminders; a resolution or escalation is still sent)`;
  }
}
