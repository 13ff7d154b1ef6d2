/** `/menu`: the dishes, their prices, availability and tracked stock. */
import { Hono } from "hono";
import { NotFoundError } from "../domain/errors.ts";
import {
  AvailabilityBody,
  MenuItemUpdateBody,
  MenuListQuery,
  NewMenuItemBody,
} from "../domain/schemas.ts";
import type { MenuItemPatch } from "../domain/types.ts";
import { menuItemJson } from "../domain/wire.ts";
import { ErrorOut, MenuItemOut } from "../domain/wire_schemas.ts";
import type { AppDeps } from "./_deps.ts";
import { jsonBody, pathId, query } from "./_http.ts";
import type { OpDoc } from "./_openapi.ts";

const toCents = (price: number) => Math.round(price * 100);

/** Mounted at `/menu`. */
export function menuRoutes({ store, config }: AppDeps) {
  const limit = config.maxBodyBytes;
  return new Hono()
    .get("/", async (c) => {
      const q = query(c, MenuListQuery);
      const items = await store.listMenu({
        category: q.category,
        available: q.available === undefined
          ? undefined
          : q.available === "true",
      });
      return c.json(items.map(menuItemJson));
    })
    .get("/:id", async (c) => {
      const id = pathId(c);
      const item = await store.getMenuItem(id);
      if (!item) {
        throw new NotFoundError(
          "menu_item_not_found",
          `Menu item "${id}" does not exist`,
        );
      }
      return c.json(menuItemJson(item));
    })
    .post("/", async (c) => {
      const { data } = await jsonBody(c, NewMenuItemBody, limit);
      const item = await store.createMenuItem({
        name: data.name,
        description: data.description,
        priceCents: toCents(data.price),
        category: data.category,
        available: data.available,
        stock: data.stock,
      });
      return c.json(menuItemJson(item), 201);
    })
    .put("/:id", async (c) => {
      const id = pathId(c);
      const { data } = await jsonBody(c, MenuItemUpdateBody, limit);
      const { price, ...rest } = data;
      const patch: MenuItemPatch = { ...rest };
      if (price !== undefined) patch.priceCents = toCents(price);
      return c.json(menuItemJson(await store.updateMenuItem(id, patch)));
    })
    .put("/:id/availability", async (c) => {
      const id = pathId(c);
      const { data } = await jsonBody(c, AvailabilityBody, limit);
      return c.json(
        menuItemJson(
          await store.updateMenuItem(id, { available: data.available }),
        ),
      );
    });
}

const item = { description: "The menu item", schema: MenuItemOut };
const notFound = { description: "No such menu item", schema: ErrorOut };
const invalid = { description: "Validation failed", schema: ErrorOut };

/** OpenAPI entries of `/menu`. */
export const menuDocs: OpDoc[] = [
  {
    method: "get",
    path: "/menu",
    tag: "Menu",
    summary: "List the menu",
    query: MenuListQuery,
    responses: {
      200: { description: "Menu items", schema: MenuItemOut.array() },
    },
  },
  {
    method: "get",
    path: "/menu/{id}",
    tag: "Menu",
    summary: "Get one menu item",
    responses: { 200: item, 404: notFound },
  },
  {
    method: "post",
    path: "/menu",
    tag: "Menu",
    summary: "Add a menu item",
    body: NewMenuItemBody,
    responses: {
      201: item,
      409: "Duplicate name (ignoring case and Unicode normalisation)",
      422: invalid,
    },
  },
  {
    method: "put",
    path: "/menu/{id}",
    tag: "Menu",
    summary: "Change a menu item",
    body: MenuItemUpdateBody,
    responses: {
      200: item,
      404: notFound,
      409: "Duplicate name (ignoring case and Unicode normalisation)",
      422: invalid,
    },
  },
  {
    method: "put",
    path: "/menu/{id}/availability",
    tag: "Menu",
    summary: "Switch a menu item on or off",
    body: AvailabilityBody,
    responses: { 200: item, 404: notFound, 422: invalid },
  },
];
