// Helpers for the browser tests: serving an app on an ephemeral loopback port, requests without
// credentials, screenshots as artifacts, measuring what a canvas actually drew, reading the scales of a
// uPlot chart, and a network that ends at 127.0.0.1.
import { createServer, type Server } from "node:http";
import { resolve } from "node:path";
import type { RequestListener } from "node:http";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { createWebApp } from "../../apps/web/app.ts";
import type { DashboardSources } from "../../apps/web/dashboard/deps.ts";
import type { Fleet } from "../../queues/fleet.ts";
import { requireInCi } from "./ci.ts";

export const SHOTS = resolve(import.meta.dirname, "../../test-artifacts/ui");

export async function listen(app: RequestListener): Promise<Server> {
  const server = createServer(app);
  await new Promise<void>((res, rej) => {
    server.once("error", rej);
    server.listen(0, "127.0.0.1", () => res());
  });
  return server;
}

/** Status of a request sent without (or with the given) credentials, and whether it asked for them. */
export async function unauthenticated(base: string, path: string, authorization?: string): Promise<{ status: number; challenge: boolean }> {
  const res = await fetch(`${base}${path}`, { headers: authorization ? { authorization } : {}, redirect: "manual" });
  await res.arrayBuffer();
  return { status: res.status, challenge: /^Basic /.test(res.headers.get("www-authenticate") ?? "") };
}

/** Opens a dashboard page and waits until its script has loaded everything (body[data-ready] = "ok"). */
export async function openDashboard(page: Page, url: string): Promise<void> {
  await page.goto(url);
  await page.waitForSelector("body[data-ready]");
  const ready = await page.getAttribute("body", "data-ready");
  if (ready !== "ok") throw new Error(`${url} did not load: ${(await page.textContent("#status")) ?? ready}`);
}

export const CHROMIUM = "/usr/bin/chromium";
/** Without chromium a developer's run skips; CI installs it (.ci/run), and with CI set a missing one fails. */
export const skipWithoutChromium = () => requireInCi(`chromium (${CHROMIUM})`, existsSync(CHROMIUM));
export const UI_USER = "operator";
export const UI_PASSWORD = "correct horse battery staple";

/** The web app twice on loopback, writable and read-only, over the same fleet and dashboard sources. */
export async function webPair(fleet: Fleet, dashboard: DashboardSources): Promise<{ servers: Server[]; base: string; readOnlyBase: string }> {
  const probes = { liveness: {}, readiness: {}, startup: {} };
  const credentials = { user: UI_USER, password: UI_PASSWORD };
  const rw = await listen(createWebApp({ fleet, credentials, readOnly: false, probes, dashboard }));
  const ro = await listen(createWebApp({ fleet, credentials, readOnly: true, probes, dashboard }));
  const url = (s: Server) => `http://127.0.0.1:${(s.address() as { port: number }).port}`;
  return { servers: [rw, ro], base: url(rw), readOnlyBase: url(ro) };
}

/** Headless Chromium with its own profile directory (the caller removes it), logged in as UI_USER. */
export async function launchChromium(profilePrefix: string, opts: { sendCredentialsAlways?: boolean } = {}): Promise<{ browser: BrowserContext; page: Page; profile: string }> {
  const profile = mkdtempSync(join(tmpdir(), profilePrefix));
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"],
    httpCredentials: { username: UI_USER, password: UI_PASSWORD, ...(opts.sendCredentialsAlways ? { send: "always" as const } : {}) },
    viewport: { width: 1440, height: 900 },
  });
  return { browser, page: browser.pages()[0] ?? (await browser.newPage()), profile };
}

export async function shot(page: Page, name: string, dir = SHOTS): Promise<string> {
  const path = resolve(dir, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

export type Hue = "any" | "blue" | "red" | "green";

// The slice of HTMLCanvasElement used in the page (the project compiles without the DOM library).
interface CanvasLike {
  width: number;
  height: number;
  getContext(kind: "2d"): { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } } | null;
}

/** Pixels of the matching canvases that are painted (alpha > 0) in the given hue. */
export function canvasInk(page: Page, selector: string, hue: Hue = "any"): Promise<number> {
  return page.$$eval(
    selector,
    (canvases, h) =>
      canvases.reduce((sum, c) => {
        const canvas = c as unknown as CanvasLike;
        const d = canvas.getContext("2d")!.getImageData(0, 0, canvas.width, canvas.height).data;
        let n = 0;
        for (let i = 0; i < d.length; i += 4) {
          const [r, g, b, a] = [d[i]!, d[i + 1]!, d[i + 2]!, d[i + 3]!];
          if (a === 0) continue;
          if (h === "any" || (h === "blue" && b > r + 60 && b > g + 40) || (h === "red" && r > g + 60 && r > b + 60) || (h === "green" && g > r + 25 && g > b + 15)) n++;
        }
        return sum + n;
      }, 0),
    hue,
  );
}

export interface Scale {
  min: number;
  max: number;
  /** uPlot's distribution: 1 linear, 3 logarithmic. */
  distr: number;
}

/** The scales of the uPlot chart drawn in a dashboard container, and its x values, as the chart holds them. */
export function chartScales(page: Page, containerId: string): Promise<{ scales: Record<string, Scale>; x: number[] }> {
  // A string, not a function: vitest would rewrite a function's import() into a helper the page lacks. The
  // import loads the page's own module instance (same URL), whose charts.js knows each container's chart.
  return page.evaluate(`(async (id) => {
    const { chartIn } = await import(document.body.dataset.base + "/static/lib/charts.js");
    const u = chartIn(document.getElementById(id));
    if (!u) throw new Error("no chart in #" + id);
    const scales = Object.fromEntries(Object.entries(u.scales).map(([k, s]) => [k, { min: s.min, max: s.max, distr: s.distr }]));
    return { scales, x: [...u.data[0]] };
  })(${JSON.stringify(containerId)})`);
}

/** What the pages of a browser context did on the network and in their consoles. */
export interface Traffic {
  /** Requests to any host but 127.0.0.1 (aborted). */
  external: string[];
  /** Responses with a status of 400 or more: "<status> <url>". */
  failed: string[];
  /** console.error messages and uncaught page errors. */
  errors: string[];
  clear(): void;
}

/**
 * Confines a context to 127.0.0.1 — anything else is recorded and aborted, as an offline operator network
 * would — and records failed responses and console errors.
 */
export async function localOnly(context: BrowserContext): Promise<Traffic> {
  const t: Traffic = {
    external: [],
    failed: [],
    errors: [],
    clear() {
      for (const list of [t.external, t.failed, t.errors]) list.length = 0;
    },
  };
  await context.route("**/*", (route) => {
    const url = route.request().url();
    if (new URL(url).hostname === "127.0.0.1") return route.continue();
    t.external.push(url);
    return route.abort("blockedbyclient");
  });
  context.on("response", (r) => void (r.status() >= 400 && t.failed.push(`${r.status()} ${r.url()}`)));
  context.on("console", (m) => void (m.type() === "error" && t.errors.push(`${m.location().url}: ${m.text()}`)));
  context.on("weberror", (e) => void t.errors.push(`uncaught: ${e.error().message}`));
  return t;
}
