// Alerting assembled for one process: rules from the config, the store, the sink (Telegram when a token
// and chat ids are configured, else the log — announced by one warning at start-up), the deliverer, and
// the evaluation the alerts-evaluate maintenance task runs.
import type { Api } from "node-telegram-bot-api";
import type { Pool } from "../db/pool.ts";
import type { Fleet } from "../queues/fleet.ts";
import type { Config } from "../ops/config.ts";
import type { Logger } from "../ops/logger.ts";
import { Deliverer, type DeliveryPass } from "./deliver.ts";
import { evaluateRules, recordEvent, type EvaluateSummary } from "./evaluate.ts";
import { dashboardBase } from "./links.ts";
import { logNotifier, type Notifier } from "./notify.ts";
import { configRedactor, type Redactor } from "./redact.ts";
import { alertRules } from "./rules.ts";
import { alertSources, type BudgetUsage } from "./sources.ts";
import { AlertStore } from "./store.ts";
import { LogSink, TelegramSink, telegramApi, type AlertSink } from "./telegram.ts";
import type { AnyRule, EventRows } from "./types.ts";

export interface AlertingDeps {
  cfg: Config;
  log: Logger;
  pool: Pool;
  fleet: Fleet;
  /** Daily LLM budget use per provider; none → the llm-budget rule never fires. */
  budgetUsage?: BudgetUsage;
  /** A Bot API client (tests inject one with a short timeout); default from the config. */
  api?: Api;
  clock?: () => Date;
}

export interface Alerting {
  rules: readonly AnyRule[];
  store: AlertStore;
  deliverer: Deliverer;
  redact: Redactor;
  sink: AlertSink;
  evaluate(now?: Date): Promise<EvaluateSummary>;
  onEvent<E extends keyof EventRows>(rule: E, row: EventRows[E]): Promise<unknown>;
  /** A bounded delivery pass for callers that must not linger (the maintenance task). */
  deliver(max?: number): Promise<DeliveryPass>;
}

export const NOT_CONFIGURED_WARNING =
  "Telegram is not configured (TELEGRAM_BOT_TOKEN and TELEGRAM_CHAT_IDS): alerts are stored in observability.alerts and written to this log only";

export function createAlerting(d: AlertingDeps): Alerting {
  const redact = configRedactor(d.cfg);
  const api = d.api ?? telegramApi(d.cfg);
  let sink: AlertSink;
  // Research briefs go to the same chats (or the log) through the same deliverer.
  let notifier: Notifier;
  if (api && d.cfg.TELEGRAM_CHAT_IDS.length) sink = notifier = new TelegramSink(api, d.cfg.TELEGRAM_CHAT_IDS, redact);
  else {
    d.log.warn(NOT_CONFIGURED_WARNING);
    sink = new LogSink(d.log);
    notifier = logNotifier(d.log);
  }
  const rules = alertRules(d.cfg);
  const store = new AlertStore(d.pool, redact);
  const clock = d.clock ?? (() => new Date());
  const deliverer = new Deliverer({
    pool: d.pool,
    sink,
    notifier,
    dashboardBase: dashboardBase(d.cfg),
    log: d.log,
    redact,
    maxBackoffMs: d.cfg.ALERT_DELIVERY_MAX_BACKOFF_S * 1000,
    clock,
  });
  const budgetUsage = d.budgetUsage ?? (async () => []);
  return {
    rules,
    store,
    deliverer,
    redact,
    sink,
    evaluate: (now = clock()) => evaluateRules(rules, alertSources({ fleet: d.fleet, pool: d.pool, cfg: d.cfg, budgetUsage }, now), store, d.log, now),
    onEvent: (rule, row) => recordEvent(rules, store, d.log, rule, row, clock()),
    deliver: (max = 20) => deliverer.deliverDue(max),
  };
}
