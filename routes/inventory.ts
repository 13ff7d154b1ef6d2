/** `/inventory`: ingredients and supplies with atomic adjustments and low-stock alerts. */
import { Hono } from "hono";
import {
  InventoryChangeBody,
  MAX_QUANTITY,
  NewInventoryBody,
} from "../domain/schemas.ts";
import { inventoryJson } from "../domain/wire.ts";
import { ErrorOut, InventoryOut } from "../domain/wire_schemas.ts";
import type { AppDeps } from "./_deps.ts";
import { jsonBody, pathId } from "./_http.ts";
import type { OpDoc } from "./_openapi.ts";

/** Mounted at `/inventory`. */
export function inventoryRoutes({ store, config }: AppDeps) {
  const limit = config.maxBodyBytes;
  return new Hono()
    .get(
      "/",
      async (c) => c.json((await store.listInventory()).map(inventoryJson)),
    )
    .post("/", async (c) => {
      const { data } = await jsonBody(c, NewInventoryBody, limit);
      const item = await store.createInventoryItem({
        name: data.name,
        quantity: data.quantity,
        unit: data.unit,
        lowThreshold: data.low_threshold,
      });
      return c.json(inventoryJson(item), 201);
    })
    .patch("/:id", async (c) => {
      const id = pathId(c);
      const { data } = await jsonBody(c, InventoryChangeBody, limit);
      const item = await store.changeInventory(id, {
        delta: data.delta,
        quantity: data.quantity,
        lowThreshold: data.low_threshold,
      });
      return c.json(inventoryJson(item));
    });
}

const err = (description: string) => ({ description, schema: ErrorOut });
const item = { description: "The inventory item", schema: InventoryOut };

/** OpenAPI entries of `/inventory`. */
export const inventoryDocs: OpDoc[] = [
  {
    method: "get",
    path: "/inventory",
    tag: "Inventory",
    summary: "List inventory",
    responses: {
      200: { description: "Inventory items", schema: InventoryOut.array() },
    },
  },
  {
    method: "post",
    path: "/inventory",
    tag: "Inventory",
    summary: "Add an inventory item",
    body: NewInventoryBody,
    responses: {
      201: item,
      409: err("Duplicate name"),
      422: err("Validation failed"),
    },
  },
  {
    method: "patch",
    path: "/inventory/{id}",
    tag: "Inventory",
    summary: "Adjust stock atomically",
    description:
      `{delta} adds or removes atomically: a result below zero (insufficient_inventory) or above ${MAX_QUANTITY} (inventory_limit) is a 409 and changes nothing. {quantity} sets a count from 0 to ${MAX_QUANTITY}; low_threshold sets when inventory.low fires.`,
    body: InventoryChangeBody,
    responses: {
      200: item,
      404: err("No such item"),
      409: err(`Would go below zero or above ${MAX_QUANTITY}`),
      422: err("Validation failed"),
    },
  },
];
