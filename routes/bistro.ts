/**
 * The Bistro92 table-order API: `POST /api/order`, `GET /api/orders` and the
 * `/ws/orders` socket. Orders placed here are ordinary orders (source
 * "table"): priced when a name matches the menu, seen by the kitchen. Errors
 * keep Bistro92's FastAPI shape, `{"detail": …}`.
 */
import { Hono } from "hono";
import type { Context } from "hono";
import { upgradeWebSocket } from "@hono/node-server";
import { z } from "zod";
import {
  BadRequestError,
  ConflictError,
  DomainError,
  InFlightError,
  PayloadTooLargeError,
  UnavailableError,
  UnsupportedMediaTypeError,
  ValidationError,
} from "../domain/errors.ts";
import { MAX_LINE_QUANTITY, MAX_ORDER_LINES } from "../domain/schemas.ts";
import type { NewOrder, Order } from "../domain/types.ts";
import { bistroOrder, orderJson } from "../domain/wire.ts";
import type {
  Feed,
  FeedBatch,
  FeedSink,
  Subscription,
} from "../kitchen/feed.ts";
import { feedOf } from "../kitchen/feed.ts";
import type { AppDeps } from "./_deps.ts";
import { linkNext, rawJson } from "./_http.ts";
import { idemKeyOf, placedResponse } from "./_idempotency.ts";
import { IDEMPOTENCY_HEADER, type OpDoc } from "./_openapi.ts";

/** Body of `POST /api/order` (unknown fields are ignored, as pydantic does). */
export const BistroOrderBody = z.object({
  table: z.union([
    z.string().trim().min(1).max(100),
    z.number().int().min(0).max(1_000_000),
  ]).meta({ example: "Table 1" }),
  items: z.array(z.object({
    name: z.string().trim().min(1).max(100).meta({ example: "Burger" }),
    quantity: z.number().int().min(1).max(MAX_LINE_QUANTITY).meta({
      example: 3,
    }),
  })).min(1).max(MAX_ORDER_LINES),
}).meta({ id: "BistroOrderIn" });

/** A table order as Bistro92 clients see it. */
export const BistroOrderOut = z.object({
  id: z.number().int(),
  table: z.string(),
  items: z.array(z.object({ name: z.string(), quantity: z.number().int() })),
  created_at: z.string().meta({ format: "date-time" }),
}).meta({ id: "BistroOrder" });

/** Bistro92's error body: a message, or FastAPI-style field errors. */
export const BistroErrorOut = z.object({
  detail: z.union([
    z.string(),
    z.array(z.object({
      loc: z.array(z.union([z.string(), z.number()])),
      msg: z.string(),
      type: z.string(),
    })),
  ]),
}).meta({ id: "BistroError" });

/** Query of `GET /api/orders`. */
export const BistroListQuery = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(1000),
  before: z.coerce.number().int().positive().optional().meta({
    description: "Cursor: only orders with a smaller id",
  }),
});

type NativeOrder = ReturnType<typeof orderJson>;

const renderBistro = (order: Order) => bistroOrder(orderJson(order));

function fieldErrors(error: z.ZodError, where: string) {
  return error.issues.map((i) => ({
    loc: [where, ...i.path.map((p) => typeof p === "number" ? p : String(p))],
    msg: i.message,
    type: i.code,
  }));
}

/** Answers a domain error in the `{detail}` shape; anything else goes on to `app.onError`. */
function detailError(c: Context, e: unknown): Response {
  if (!(e instanceof DomainError)) throw e;
  if (e instanceof InFlightError || e instanceof UnavailableError) {
    c.header("Retry-After", String(e.retryAfterS));
  }
  if (e instanceof BadRequestError && e.code !== "invalid_idempotency_key") {
    // FastAPI answers malformed JSON with a 422 as well.
    return c.json({
      detail: [{ loc: ["body"], msg: e.message, type: "json_invalid" }],
    }, 422);
  }
  const status = e instanceof ValidationError
    ? 422
    : e instanceof ConflictError
    ? 409
    : e instanceof PayloadTooLargeError
    ? 413
    : e instanceof UnsupportedMediaTypeError
    ? 415
    : e instanceof UnavailableError
    ? 503
    : 400;
  return c.json({ detail: e.message }, status);
}

function validationFailed(c: Context, error: z.ZodError, where: string) {
  return c.json({ detail: fieldErrors(error, where) }, 422);
}

/** Mounted at `/api`: only `/order` and `/orders`, so other `/api/*` routes coexist. */
export function bistroRoutes({ store, config, inflight }: AppDeps) {
  return new Hono()
    .post("/order", async (c) => {
      try {
        const raw = await rawJson(c, config.maxBodyBytes);
        const parsed = BistroOrderBody.safeParse(raw);
        if (!parsed.success) return validationFailed(c, parsed.error, "body");
        const idem = await idemKeyOf(c, "POST /api/order", raw);
        const input: NewOrder = {
          table: String(parsed.data.table),
          items: parsed.data.items.map((l) => ({
            name: l.name,
            quantity: l.quantity,
          })),
          source: "table",
        };
        const placed = await inflight.run(
          idem,
          () =>
            store.placeOrder(input, {
              idempotency: idem,
              status: 201,
              view: "bistro",
            }),
        );
        return placedResponse(c, placed);
      } catch (e) {
        return detailError(c, e);
      }
    })
    .get("/orders", async (c) => {
      const parsed = BistroListQuery.safeParse(c.req.query());
      if (!parsed.success) return validationFailed(c, parsed.error, "query");
      const { limit, before } = parsed.data;
      const orders = await store.listOrders({ limit: limit + 1, before });
      const page = orders.slice(0, limit);
      if (orders.length > limit) {
        linkNext(c, { limit, before: page[page.length - 1]!.id });
      }
      return c.json(page.map(renderBistro));
    });
}

/** Orders sent in the socket's `initial` message (newest first). */
const INITIAL_ORDERS = 1000;
/** Bytes a socket may have unsent before it is dropped as too slow. */
const MAX_SOCKET_BUFFER = 1024 * 1024;

function newOrderMessages(batch: FeedBatch) {
  return batch.memo(
    "bistro.new_order",
    (events) =>
      events.filter((e) => e.type === "order.created").map((e) => {
        const order = bistroOrder(e.data as NativeOrder);
        return {
          id: order.id,
          text: JSON.stringify({ type: "new_order", order }),
        };
      }),
  );
}

/** One socket's view of the feed: `initial` first, then every `new_order` once. */
function socketSession(
  feed: Feed,
  store: AppDeps["store"],
  shutdown: AbortSignal | undefined,
) {
  let socket: WebSocket | null = null;
  let sub: Subscription | null = null;
  let closed = false;
  let live = false;
  /** Orders already in `initial`; only batches held during the snapshot can repeat them. */
  let seen = new Set<number>();
  const pending: FeedBatch[] = [];
  const send = (batch: FeedBatch) => {
    for (const m of newOrderMessages(batch)) {
      if (!seen.has(m.id)) socket!.send(m.text);
    }
    return socket!.bufferedAmount <= MAX_SOCKET_BUFFER;
  };
  const sink: FeedSink = {
    deliver(batch) {
      if (closed || !socket || socket.readyState !== WebSocket.OPEN) {
        return false;
      }
      if (live) return send(batch);
      pending.push(batch);
      return pending.length <= 10_000;
    },
    dropped() {
      closed = true;
      socket?.close(1013, "Too slow, reconnect");
    },
  };
  const goingAway = () => socket?.close(1001, "Server shutting down");
  const close = () => {
    closed = true;
    sub?.close();
    shutdown?.removeEventListener("abort", goingAway);
  };
  return {
    async open(ws: WebSocket) {
      socket = ws;
      if (shutdown?.aborted) return goingAway();
      shutdown?.addEventListener("abort", goingAway, { once: true });
      try {
        sub = await feed.subscribe(sink);
        if (closed) return sub.close();
        const orders = await store.listOrders({ limit: INITIAL_ORDERS });
        if (closed) return;
        const list = orders.map(renderBistro);
        ws.send(JSON.stringify({ type: "initial", orders: list }));
        seen = new Set(list.map((o) => o.id));
        for (const batch of pending.splice(0)) {
          if (!send(batch)) throw new Error("socket too slow");
        }
        seen.clear();
        live = true;
      } catch (e) {
        console.error(JSON.stringify({
          level: "error",
          msg: "order socket failed",
          error: String(e),
        }));
        close();
        if (ws.readyState === WebSocket.OPEN) ws.close(1011, "Server error");
      }
    },
    close,
  };
}

/** Mounted at `/ws`: the Bistro92 live order socket. */
export function bistroSocketRoutes({ store, shutdown }: AppDeps) {
  const feed = feedOf(store);
  return new Hono().get(
    "/orders",
    upgradeWebSocket(() => {
      const session = socketSession(feed, store, shutdown);
      return {
        // `ws.raw` is a `ws` socket: the same send/close/readyState/bufferedAmount.
        onOpen: (_evt, ws) => void session.open(ws.raw as unknown as WebSocket),
        onMessage: (evt, ws) => {
          const message = typeof evt.data === "string"
            ? evt.data
            : new TextDecoder().decode(evt.data as ArrayBuffer);
          ws.send(JSON.stringify({ type: "echo", message }));
        },
        onClose: () => session.close(),
        onError: () => session.close(),
      };
    }),
    (c) =>
      c.json({ detail: "This endpoint speaks WebSocket only" }, 426, {
        Upgrade: "websocket",
      }),
  );
}

const detail = (description: string) => ({
  description,
  schema: BistroErrorOut,
});

/** OpenAPI entries of the Bistro92 API. */
export const bistroDocs: OpDoc[] = [
  {
    method: "post",
    path: "/api/order",
    tag: "Bistro92",
    summary: "Place a table order",
    description:
      "Item names are free text: a name equal (case-insensitively) to a menu item is linked and priced, any other becomes an unpriced line. The kitchen sees the order like any other. Errors answer {detail}: a message, or FastAPI-style [{loc,msg,type}] for field errors.",
    body: BistroOrderBody,
    headers: [IDEMPOTENCY_HEADER],
    responses: {
      201: { description: "The order", schema: BistroOrderOut },
      400: detail("Malformed Idempotency-Key"),
      409: detail(
        "A linked menu item is unavailable or sold out, or the same key is in flight",
      ),
      413: detail("Body too large"),
      415: detail("Not JSON"),
      422: detail(
        "Validation failed (also malformed JSON), or key reused with another body",
      ),
    },
  },
  {
    method: "get",
    path: "/api/orders",
    tag: "Bistro92",
    summary: "List orders, newest first by id",
    description:
      'Every order (table, cashier, any surface). Up to ?limit= (default and max 1000); a Link: <...>; rel="next" header points to older ones. The live feed is the WebSocket /ws/orders: {"type":"initial","orders":[...]} on connect, {"type":"new_order","order":{...}} per new order, and a text frame is answered with {"type":"echo","message":...}.',
    query: BistroListQuery,
    responses: {
      200: { description: "Orders", schema: BistroOrderOut.array() },
      422: detail("Bad query"),
    },
  },
  {
    method: "get",
    path: "/ws/orders",
    tag: "Bistro92",
    summary: "WebSocket: live orders",
    description:
      'Upgrade to a WebSocket. On connect: {"type":"initial","orders":[...]} (newest first, up to 1000); then {"type":"new_order","order":{...}} for every new order from any surface; a text frame is answered with {"type":"echo","message":...}. A socket that falls 1 MiB behind is closed with 1013 and should reconnect.',
    responses: {
      101: "Switching protocols",
      426: detail("Not a WebSocket upgrade"),
    },
  },
];
