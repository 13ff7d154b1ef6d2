/** The staff pages: static HTML, JS and CSS from `kitchen/`, under a strict CSP. */
import { Hono } from "hono";
import type { Context } from "hono";
import type { AppDeps } from "./_deps.ts";
import { serveFile } from "./static.ts";

/**
 * Only same-origin scripts, styles and connections: the pages hold no inline
 * code, so an order note that smuggles markup in cannot run anything.
 */
export const PAGE_CSP =
  "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/** Serves `kitchen/<file>` with the page security headers. */
export async function servePage(c: Context, file: string): Promise<Response> {
  const res = await serveFile(c, `kitchen/${file}`);
  res.headers.set("Content-Security-Policy", PAGE_CSP);
  res.headers.set("X-Content-Type-Options", "nosniff");
  res.headers.set("Referrer-Policy", "no-referrer");
  return res;
}

/** Mounted at `/`: the cashier page (its assets live under `/kitchen/assets/`). */
export function pageRoutes(_deps: AppDeps) {
  return new Hono().get("/", (c) => servePage(c, "cashier.html"));
}
