// What the dashboard reads and writes (alert acknowledgements, retries of failed jobs), given by the web process.
import type { Config } from "../../../ops/config.ts";
import type { Pool } from "../../../db/pool.ts";
import type { Fleet } from "../../../queues/fleet.ts";
import type { ProviderUsage } from "../../../alerts/budgets.ts";
import type { AlertStore } from "../../../alerts/store.ts";
import type { Logger } from "../../../ops/logger.ts";

/** Live use of one provider's budgets (the LLM layer's quota store: LlmQuota.budgetUsage). */
export type ProviderBudgetUsage = ProviderUsage & { inFlight?: number; minuteRequests?: number };

/** The setting that makes the dashboard and bull-board read-only; named in the badge's help and in refusals. */
export const READ_ONLY_KEY = "BOARD_READ_ONLY" satisfies keyof Config;

export interface DashboardSources {
  db: Pool;
  alerts: Pick<AlertStore, "acknowledge">;
  /** Absent: the LLM page shows the cost ledger only. */
  llmUsage?: () => Promise<ProviderBudgetUsage[]>;
  /** Time zone of the LLM budget day (LLM_QUOTA_TZ). */
  llmTz: string;
  log?: Logger;
}

export interface DashboardDeps extends DashboardSources {
  fleet: Fleet;
  /** BOARD_READ_ONLY: the dashboard refuses its write actions (acknowledge, retry) too. */
  readOnly: boolean;
  /** Where bull-board is mounted, for links to jobs. */
  boardPath: string;
}
