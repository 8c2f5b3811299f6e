// The web process's HTTP app: bull-board over every fleet queue behind auth, and health probes.
import { createBullBoard } from "@bull-board/api";
import { BullMQAdapter } from "@bull-board/api/bullMQAdapter";
import { ExpressAdapter } from "@bull-board/express";
import express, { type Express } from "express";
import type { Fleet } from "../../queues/fleet.ts";
import { answerProbe, type ProbeChecks } from "../health.ts";
import { requireAuth, type Credentials } from "./auth.ts";

export const BOARD_PATH = "/admin/queues";

export interface WebAppOptions {
  fleet: Fleet;
  credentials: Credentials;
  readOnly: boolean;
  probes: ProbeChecks;
}

export function createWebApp(opts: WebAppOptions): Express {
  const app = express();
  app.disable("x-powered-by");
  // Probes stay unauthenticated: orchestrators call them without credentials and they reveal no data.
  app.get(/^\/health\/(liveness|readiness|startup)\/?$/, async (req, res) => {
    const r = await answerProbe(req.path, opts.probes);
    res.status(r!.status).json(r!.body);
  });
  const board = new ExpressAdapter().setBasePath(BOARD_PATH);
  createBullBoard({
    queues: opts.fleet.allQueues().map((q) => new BullMQAdapter(q, { readOnlyMode: opts.readOnly })),
    serverAdapter: board,
    options: { uiConfig: { boardTitle: "ta-fleet" } },
  });
  app.use(BOARD_PATH, requireAuth(opts.credentials), board.getRouter());
  app.get("/", (_req, res) => res.redirect(BOARD_PATH));
  return app;
}
