/** `/orders`: placing orders exactly once, listing them, moving them along. */
import { Hono } from "hono";
import type { Context } from "hono";
import {
  BadRequestError,
  NotFoundError,
  ValidationError,
} from "../domain/errors.ts";
import { ORDER_STATUSES, type OrderStatus } from "../domain/order_status.ts";
import {
  NewOrderBody,
  OrderListQuery,
  OrderStatusBody,
} from "../domain/schemas.ts";
import type { NewOrder, Order } from "../domain/types.ts";
import { orderJson } from "../domain/wire.ts";
import { ErrorOut, OrderOut } from "../domain/wire_schemas.ts";
import type { AppDeps } from "./_deps.ts";
import { jsonBody, linkNext, pathId, query } from "./_http.ts";
import { idemKeyOf, placedResponse } from "./_idempotency.ts";
import { listGateOf } from "./_list_gate.ts";
import { IDEMPOTENCY_HEADER, type OpDoc } from "./_openapi.ts";

/** Parses `If-Match: "3"` (also bare or weak) into a version number. */
export function ifMatchVersion(header: string | undefined): number | undefined {
  if (header === undefined) return undefined;
  const m = /^\s*(?:W\/)?"?(\d{1,9})"?\s*$/.exec(header);
  if (!m) {
    throw new BadRequestError(
      "invalid_if_match",
      'If-Match must be an order version, e.g. "3"',
      {
        header: "If-Match",
      },
    );
  }
  return Number(m[1]);
}

function statusesOf(raw: string | undefined): OrderStatus[] | undefined {
  if (raw === undefined || raw === "") return undefined;
  const list = raw.split(",").map((s) => s.trim());
  for (const s of list) {
    if (!(ORDER_STATUSES as readonly string[]).includes(s)) {
      throw new ValidationError(
        "validation_failed",
        `Unknown order status "${s}"`,
        {
          allowed: ORDER_STATUSES,
        },
      );
    }
  }
  return list as OrderStatus[];
}

function withVersion(c: Context, order: Order) {
  c.header("ETag", `"${order.version}"`);
  return c.json(orderJson(order));
}

/** Mounted at `/orders`. */
export function orderRoutes({ store, config, inflight }: AppDeps) {
  const gate = listGateOf(store);
  return new Hono()
    .post("/", async (c) => {
      const { raw, data } = await jsonBody(
        c,
        NewOrderBody,
        config.maxBodyBytes,
      );
      const idem = await idemKeyOf(c, "POST /orders", raw);
      const input: NewOrder = {
        items: data.items.map((l) => ({
          menuItemId: l.menu_item_id,
          quantity: l.quantity,
          notes: l.notes ?? null,
        })),
        customerName: data.customer_name ?? null,
        table: data.table === undefined || data.table === null
          ? null
          : String(data.table),
        notes: data.notes ?? null,
        source: "pos",
      };
      const placed = await inflight.run(
        idem,
        () => store.placeOrder(input, { idempotency: idem }),
      );
      return placedResponse(c, placed);
    })
    .get("/", async (c) => {
      const q = query(c, OrderListQuery);
      const statuses = statusesOf(q.status);
      // Rendered once for every request sharing the read.
      const { json, next } = await gate.shared(
        `orders:${statuses?.join(",") ?? ""}:${q.limit}:${q.before ?? ""}`,
        async () => {
          const orders = await store.listOrders({
            statuses,
            limit: q.limit + 1,
            before: q.before,
          });
          const page = orders.slice(0, q.limit);
          return {
            json: JSON.stringify(page.map(orderJson)),
            next: orders.length > q.limit ? page.at(-1)!.id : null,
          };
        },
      );
      if (next !== null) linkNext(c, { limit: q.limit, before: next });
      return c.body(json, 200, { "Content-Type": "application/json" });
    })
    .get("/:id", async (c) => {
      const id = pathId(c);
      const order = await store.getOrder(id);
      if (!order) {
        throw new NotFoundError(
          "order_not_found",
          `Order "${id}" does not exist`,
        );
      }
      return withVersion(c, order);
    })
    .patch("/:id", async (c) => {
      const id = pathId(c);
      const ifVersion = ifMatchVersion(c.req.header("if-match"));
      const { data } = await jsonBody(c, OrderStatusBody, config.maxBodyBytes);
      return withVersion(
        c,
        await store.setOrderStatus(id, data.status, { ifVersion }),
      );
    });
}

const order = { description: "The order", schema: OrderOut };
const err = (description: string) => ({ description, schema: ErrorOut });

/** OpenAPI entries of `/orders`. */
export const orderDocs: OpDoc[] = [
  {
    method: "post",
    path: "/orders",
    tag: "Orders",
    summary: "Place an order",
    description:
      "Prices every line from the menu and takes tracked stock atomically. Answers 200 (as the monolith did).",
    body: NewOrderBody,
    headers: [IDEMPOTENCY_HEADER],
    responses: {
      200: order,
      400: err("Malformed JSON or Idempotency-Key"),
      409: err(
        "Item unavailable or sold out, or the same key is still in flight",
      ),
      413: err("Body too large"),
      415: err("Not JSON"),
      422: err(
        "Validation failed, unknown item, or key reused with another body",
      ),
    },
  },
  {
    method: "get",
    path: "/orders",
    tag: "Orders",
    summary: "List orders, newest first",
    description:
      'Pages with ?limit= and ?before=; a Link: <...>; rel="next" header points on.',
    query: OrderListQuery,
    responses: {
      200: { description: "Orders", schema: OrderOut.array() },
      422: err("Bad query"),
      503: err("Too many order lists being read at once (Retry-After)"),
    },
  },
  {
    method: "get",
    path: "/orders/{id}",
    tag: "Orders",
    summary: "Get one order",
    responses: { 200: order, 404: err("No such order") },
  },
  {
    method: "patch",
    path: "/orders/{id}",
    tag: "Orders",
    summary: "Change an order's status",
    description:
      "pending -> in_progress -> ready -> completed; pending|in_progress -> cancelled (gives back exactly the stock the order took when placed); ready -> in_progress (recall).",
    body: OrderStatusBody,
    headers: [{
      name: "If-Match",
      description: 'The version you saw, e.g. "3"',
    }],
    responses: {
      200: order,
      404: err("No such order"),
      409: err("Illegal transition"),
      412: err("Stale version"),
      422: err("Validation failed"),
    },
  },
];
