/** `/health`: is the server up and does the database answer. */
import { Hono } from "hono";
import type { AppDeps } from "./_deps.ts";
import type { OpDoc } from "./_openapi.ts";

/** The version reported by `/health` and the OpenAPI document. */
export const VERSION = "0.1.0";

/** Mounted at `/health`. */
export function healthRoutes({ store }: AppDeps) {
  return new Hono().get("/", async (c) => {
    const backend = store.backend;
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const ms = await Promise.race([
        store.ping(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error("timeout")), 2000);
        }),
      ]);
      return c.json({
        status: "ok",
        backend,
        db_latency_ms: Math.round(ms * 100) / 100,
        version: VERSION,
      });
    } catch {
      c.header("Retry-After", "1");
      return c.json({
        status: "unavailable",
        backend,
        db_latency_ms: null,
        version: VERSION,
      }, 503);
    } finally {
      clearTimeout(timer);
    }
  });
}

/** OpenAPI entries of `/health`. */
export const healthDocs: OpDoc[] = [{
  method: "get",
  path: "/health",
  tag: "Health",
  summary: "Liveness and database latency",
  responses: { 200: "Database answers", 503: "Database does not answer" },
}];
