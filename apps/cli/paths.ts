import { resolve } from "node:path";

export const ROOT = resolve(import.meta.dirname, "../..");
/** The declaration of the fleet's processes; its commands run in ROOT. */
export const PROCFILE = resolve(ROOT, "Procfile");
/** What a supervisor's command line contains: how a live lock is told from a reused pid. */
export const START_SCRIPT = "apps/cli/start.ts";
