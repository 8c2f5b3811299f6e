// bull-board as the web process mounts it: every fleet queue (read-only per BOARD_READ_ONLY), a link from
// each job of a daily-refresh run or a sweep to the dashboard page that shows it, our favicon, and a page
// that loads nothing from outside this host.
import { createBullBoard } from "@bull-board/api";
import { BullMQAdapter } from "@bull-board/api/bullMQAdapter";
import type { AppViewRoute, ExternalJobUrl, QueueAdapterOptions, QueueJobJson } from "@bull-board/api/typings/app";
import { ExpressAdapter } from "@bull-board/express";
import type { Express, RequestHandler } from "express";
import type { Fleet } from "../../queues/fleet.ts";
import { runId as runIdSchema } from "../../queues/kind.ts";

export interface BoardOptions {
  fleet: Fleet;
  readOnly: boolean;
  /** Where the board is mounted (/admin/queues). */
  basePath: string;
  /** Where the ops dashboard is mounted; absent → no links to it and bull-board's own favicon. */
  dashboardPath?: string | undefined;
}

/**
 * The dashboard page of a job: its daily-refresh run (every job of a run carries `runId` in its payload),
 * its sweep or its walk-forward. bull-board shows it as a link in the job's header, where a flow-tree node's "Open this job"
 * leads: the tree itself is unreadable at its default zoom, our run page is not. Payloads are read, never
 * changed.
 */
function dashboardLink(dashboardPath: string, job: Pick<QueueJobJson, "data">): ExternalJobUrl | undefined {
  const data = job.data as { runId?: unknown; sweepId?: unknown; walkForwardId?: unknown } | null | undefined;
  const run = runIdSchema.safeParse(data?.runId);
  if (run.success) return { href: `${dashboardPath}/runs/${encodeURIComponent(run.data)}`, displayText: `run ${run.data} on the dashboard` };
  if (typeof data?.sweepId === "string") return { href: `${dashboardPath}/backtests?sweep=${encodeURIComponent(data.sweepId)}`, displayText: `sweep ${data.sweepId} on the dashboard` };
  if (typeof data?.walkForwardId === "string") {
    return { href: `${dashboardPath}/walk-forwards/${encodeURIComponent(data.walkForwardId)}`, displayText: `walk-forward ${data.walkForwardId} on the dashboard` };
  }
  return undefined;
}

/** bull-board's page with every <link> to another host (its Google Fonts stylesheet) taken out. */
const withoutExternalLinks = (html: string) => html.replace(/<link\b[^>]*\bhref="https?:\/\/[^"]*"[^>]*>\s*/gi, "");

/**
 * bull-board 9.10's page template links IBM Plex from fonts.googleapis.com, which an offline or
 * 127.0.0.1-only network turns into console errors and a stalled first paint, and it has no option to
 * drop the link. This adapter renders the same template and removes the link; its stylesheet already
 * falls back to system-ui and ui-monospace.
 */
class LocalOnlyExpressAdapter extends ExpressAdapter {
  override setEntryRoute(route: AppViewRoute): ExpressAdapter {
    const app: Express = this.app;
    const page: RequestHandler = (_req, res, next) => {
      const { name, params } = route.handler({ basePath: this.basePath, uiConfig: this.uiConfig });
      res.render(name, params, (err: Error | null, html: string) => (err ? next(err) : res.type("html").send(withoutExternalLinks(html))));
    };
    app[route.method](route.route, page);
    return this;
  }
}

/** The board's express app, to mount at `basePath` behind the web process's auth. */
export function boardApp(opts: BoardOptions): Express {
  const { dashboardPath } = opts;
  // bull-board's type asks a link of every job; its response schema and its UI take a job without one.
  const externalJobUrl = dashboardPath ? ((job: QueueJobJson) => dashboardLink(dashboardPath, job)) as QueueAdapterOptions["externalJobUrl"] : undefined;
  const adapter = new LocalOnlyExpressAdapter().setBasePath(opts.basePath);
  const favicon = dashboardPath ? `${dashboardPath}/static/favicon.svg` : undefined;
  createBullBoard({
    queues: opts.fleet.allQueues().map((q) => new BullMQAdapter(q, { readOnlyMode: opts.readOnly, ...(externalJobUrl ? { externalJobUrl } : {}) })),
    serverAdapter: adapter,
    // Both entries name the SVG: the PNG "alternative" is for browsers without SVG icons, which we do not serve.
    options: { uiConfig: { boardTitle: "ta-fleet", ...(favicon ? { favIcon: { default: favicon, alternative: favicon } } : {}) } },
  });
  return adapter.getRouter() as Express;
}
