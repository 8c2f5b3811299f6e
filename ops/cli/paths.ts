import { resolve } from "node:path";
import type { Config } from "../config.ts";

/** The supervisor's pid file: `npm run stop` signals the process recorded there. */
export const supervisorPidFile = (cfg: Config) => resolve(cfg.DATA_DIR, "fleet.pid");
