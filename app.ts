/** `createApp(deps)`: mounts every route, maps errors once, documents the API. */
import { Hono } from "hono";
import type { Context } from "hono";
import type { Config } from "./config.ts";
import type { Store } from "./db/store.ts";
import { DomainError } from "./domain/errors.ts";
import type { AppDeps } from "./routes/_deps.ts";
import { InFlight } from "./routes/_idempotency.ts";
import { type OpDoc, openApiDocument } from "./routes/_openapi.ts";
import { healthDocs, healthRoutes, VERSION } from "./routes/health.ts";
import { inventoryDocs, inventoryRoutes } from "./routes/inventory.ts";
import { kitchenDocs, kitchenRoutes } from "./routes/kitchen.ts";
import {
  bistroDocs,
  bistroRoutes,
  bistroSocketRoutes,
} from "./routes/bistro.ts";
import { pageRoutes } from "./routes/pages.ts";
import { menuDocs, menuRoutes } from "./routes/menu.ts";
import { orderDocs, orderRoutes } from "./routes/orders.ts";
import { serveFile, serveSwaggerUi } from "./routes/static.ts";
import { openVending } from "./db/vending_open.ts";
import { orchestratorDocs, orchestratorRoutes } from "./routes/orchestrator.ts";
import {
  vendingDocs,
  vendingMachineRoutes,
  vendingProductRoutes,
} from "./routes/vending.ts";
import { requireRoles } from "./routes/_auth.ts";
import { answerError, errorBody } from "./routes/_errors.ts";
import { Logger, type LogSink, requestLog, stderrSink } from "./routes/_log.ts";
import { cors, rateLimitWrites, securityHeaders } from "./routes/_security.ts";

/** What `createApp` needs; tests build it from literals. */
export interface CreateAppOptions {
  config: Config;
  store: Store;
  /** Where JSON log lines go; default: warnings and errors to stderr. */
  log?: LogSink;
  /** Aborted when the server shuts down; long-lived streams end on it. */
  shutdown?: AbortSignal;
}

function onError(e: Error, c: Context) {
  const requestId = c.get("requestId") as string;
  if (e instanceof DomainError) return answerError(c, e);
  // The request log middleware writes the stack (see routes/_log.ts).
  return c.json(
    errorBody(
      "internal_error",
      `Something went wrong on our side; quote request id "${requestId}"`,
      { request_id: requestId },
    ),
    500,
  );
}

/**
 * An incoming X-Request-Id is echoed when it is this safe. Not Hono's
 * `requestId`: it refuses `.` and `:`, which tills put in theirs ("till-3.42").
 */
const SAFE_ID = /^[\w.:-]{1,128}$/;

/** Every documented operation. */
export function allDocs(): OpDoc[] {
  return [
    ...healthDocs,
    ...menuDocs,
    ...orderDocs,
    ...kitchenDocs,
    ...inventoryDocs,
    ...bistroDocs,
    ...vendingDocs,
    ...orchestratorDocs,
  ];
}

/** Builds the whole HTTP application over one store. */
export function createApp(
  { config, store, log, shutdown }: CreateAppOptions,
) {
  const deps: AppDeps = {
    config,
    store,
    inflight: new InFlight(),
    shutdown,
    vending: openVending(store, config),
  };
  const logger = new Logger(log ? config.logLevel : "warn", log ?? stderrSink);
  const app = new Hono<{ Variables: { requestId: string } }>();
  app.use(async (c, next) => {
    const incoming = c.req.header("x-request-id");
    const id = incoming && SAFE_ID.test(incoming)
      ? incoming
      : crypto.randomUUID();
    c.set("requestId", id);
    await next();
    c.res.headers.set("X-Request-Id", id);
  });
  app.use(requestLog(logger));
  app.use(securityHeaders());
  app.use(cors(config.corsOrigins));
  app.use(rateLimitWrites(config.rateLimitWritesPerMin));
  app.use(requireRoles(config));
  app.onError(onError);
  app.notFound((c) =>
    c.json(
      errorBody("not_found", `No route for ${c.req.method} ${c.req.path}`),
      404,
    )
  );

  app.route("/health", healthRoutes(deps));
  app.route("/menu", menuRoutes(deps));
  app.route("/orders", orderRoutes(deps));
  app.route("/kitchen", kitchenRoutes(deps));
  app.route("/inventory", inventoryRoutes(deps));
  app.route("/api", bistroRoutes(deps));
  app.route("/api/vending-machines", vendingMachineRoutes(deps));
  app.route("/api/products", vendingProductRoutes(deps));
  app.route("/api/orchestrator", orchestratorRoutes(deps));
  app.route("/ws", bistroSocketRoutes(deps));
  app.route("/", pageRoutes(deps));

  const doc = openApiDocument(allDocs(), { version: VERSION });
  app.get("/openapi.json", (c) => c.json(doc));
  app.get("/docs", (c) => serveFile(c, "web/docs.html"));
  app.get(
    "/static/swagger-ui/:file{swagger-ui-bundle\\.js|swagger-ui\\.css}",
    (c) => serveSwaggerUi(c, c.req.param("file")),
  );
  app.get(
    "/static/:file{[\\w.-]+}",
    (c) => serveFile(c, `web/${c.req.param("file")}`),
  );
  return app;
}
