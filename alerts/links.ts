// Links from alert and chat messages to the web process: bull-board queue pages and the ops dashboard.
// The paths mirror apps/web (BOARD_PATH, DASHBOARD_PATH; a unit test keeps them equal) instead of importing
// the web app, which would load express and bull-board into every worker.
import type { Config } from "../ops/config.ts";
import type { LinkTarget } from "./types.ts";

export const BOARD_PATH = "/admin/queues";
export const DASHBOARD_PATH = "/dashboard";

export function dashboardBase(cfg: Pick<Config, "DASHBOARD_URL" | "WEB_HOST" | "WEB_PORT">): string {
  return (cfg.DASHBOARD_URL ?? `http://${cfg.WEB_HOST}:${cfg.WEB_PORT}`).replace(/\/+$/, "");
}

export function linkUrl(base: string, target: LinkTarget | undefined): string {
  if (target?.page !== undefined) return `${base}${DASHBOARD_PATH}${target.page ? `/${target.page}` : ""}`;
  let url = `${base}${BOARD_PATH}`;
  if (target?.queue) url += `/queue/${encodeURIComponent(target.queue)}`;
  if (target?.queue && target.status) url += `?status=${target.status}`;
  return url;
}
