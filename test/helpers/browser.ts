// Helpers for the browser tests: serving an app on an ephemeral loopback port, requests without
// credentials, screenshots as artifacts, and measuring what a canvas actually drew.
import { createServer, type Server } from "node:http";
import { resolve } from "node:path";
import type { RequestListener } from "node:http";
import type { Page } from "playwright-core";

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

export async function shot(page: Page, name: string): Promise<string> {
  const path = resolve(SHOTS, `${name}.png`);
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
