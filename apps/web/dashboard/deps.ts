// What the dashboard reads and the one thing it writes (alert acknowledgements), given by the web process.
import type { Pool } from "../../../db/pool.ts";
import type { Fleet } from "../../../queues/fleet.ts";
import type { ProviderUsage } from "../../../alerts/budgets.ts";
import type { AlertStore } from "../../../alerts/store.ts";
import type { Logger } from "../../../ops/logger.ts";

/** Live use of one provider's budgets (the LLM layer's quota store: LlmQuota.budgetUsage). */
export type ProviderBudgetUsage = ProviderUsage & { inFlight?: number; minuteRequests?: number };

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
  /** BOARD_READ_ONLY: the dashboard refuses its one write action (acknowledge) too. */
  readOnly: boolean;
  /** Where bull-board is mounted, for links to jobs. */
  boardPath: string;
}
