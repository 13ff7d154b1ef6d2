/** `/kitchen`: what the kitchen screen reads. */
import { Hono } from "hono";
import { orderJson } from "../domain/wire.ts";
import { OrderOut } from "../domain/wire_schemas.ts";
import type { AppDeps } from "./_deps.ts";
import type { OpDoc } from "./_openapi.ts";

/** Mounted at `/kitchen`. */
export function kitchenRoutes({ store }: AppDeps) {
  return new Hono()
    .get(
      "/orders",
      async (c) => c.json((await store.listActiveOrders()).map(orderJson)),
    );
}

/** OpenAPI entries of `/kitchen`. */
export const kitchenDocs: OpDoc[] = [
  {
    method: "get",
    path: "/kitchen/orders",
    tag: "Kitchen",
    summary: "Active orders (pending, in_progress, ready), oldest first",
    responses: { 200: { description: "Orders", schema: OrderOut.array() } },
  },
];
