// What processors may use: the database, the producer-side fleet (to add flow children), config, logger.
import type { Pool } from "../db/pool.ts";
import type { Fleet } from "../queues/fleet.ts";
import type { Config } from "../ops/config.ts";
import type { Logger } from "../ops/logger.ts";
import type { ComputePool } from "./threads/pool.ts";

export interface WorkerDeps {
  pool: Pool;
  fleet: Fleet;
  cfg: Config;
  log: Logger;
  /** Worker threads for CPU-heavy work (indicators, backtests). */
  compute: ComputePool;
}
