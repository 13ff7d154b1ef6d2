/**
 * The numeric fields of every write route and their documented ranges, for
 * `fuzz_bounds_test.ts`: how to send a value in each, and what a valid value
 * may still meet (a 409 when a dish is sold out, …).
 */
import {
  MAX_LINE_QUANTITY,
  MAX_PRICE,
  MAX_QUANTITY,
} from "../domain/schemas.ts";
import { MAX_INT } from "../domain/vending_rules.ts";

/** Highest table number (`table` may also be text). */
export const MAX_TABLE = 1_000_000;
/** A 409 of an order: the dish is sold out or switched off (native or Bistro92 shape). */
const SOLD_OUT =
  /"code":"(out_of_stock|item_unavailable)"|is sold out|is not available/;

/** Which stored rows a field writes. */
export type Kind = "menu" | "inventory" | "vending" | "orders";

/** A value as sent: JSON of a JS value, or a raw JSON number literal such as `1e400`. */
export type Sent = { value: unknown } | { literal: string };

/** One numeric field of one write route, with its documented range. */
export interface Field {
  /** Which stored rows an accepted value lands in. */
  kind: Kind;
  route: string;
  field: string;
  min: number;
  max: number;
  /** Whole numbers only; else at most two decimals (prices). */
  int: boolean;
  /** A table may also be text of 1 to this many characters. */
  textMax?: number;
  /** null is a valid value (untracked stock, no threshold, no table). */
  nullable?: boolean;
  /** Laravel reads digit strings as integers. */
  digitStrings?: boolean;
  /** A valid value must be accepted (no state can refuse it). */
  mustAccept?: boolean;
  /** What a 409 a valid value may meet says (sold out, below zero, …). */
  conflicts?: RegExp;
  /** The request carrying `v` in the field, as `[method, path, body]`. */
  request(v: unknown, n: number): [string, string, unknown];
}

/** Ids the routes work on, made once per backend. */
export interface Fixture {
  menu: number;
  inventory: number;
  product: number;
  machine: number;
}

/** Every numeric field of every write route, over the ids of `f`. */
export function fields(f: Fixture): Field[] {
  const qty = { min: 0, max: MAX_QUANTITY, int: true };
  const laravel = { min: 0, max: MAX_INT, int: true, digitStrings: true };
  const ordered = (v: unknown) => ({
    items: [{ menu_item_id: f.menu, quantity: v }],
  });
  const choose = (over: Record<string, unknown>) => ({
    machine_id: f.machine,
    product_id: f.product,
    count: 1,
    coins: 1,
    ...over,
  });
  return [
    {
      kind: "menu",
      route: "POST /menu",
      field: "price",
      min: 0,
      max: MAX_PRICE,
      int: false,
      mustAccept: true,
      request: (v, n) => ["POST", "/menu", { name: `Dish ${n}`, price: v }],
    },
    {
      kind: "menu",
      route: "POST /menu",
      field: "stock",
      ...qty,
      nullable: true,
      mustAccept: true,
      request: (v, n) => ["POST", "/menu", {
        name: `Stocked ${n}`,
        price: 1,
        stock: v,
      }],
    },
    {
      kind: "menu",
      route: "PUT /menu/{id}",
      field: "price",
      min: 0,
      max: MAX_PRICE,
      int: false,
      mustAccept: true,
      request: (v) => ["PUT", `/menu/${f.menu}`, { price: v }],
    },
    {
      kind: "menu",
      route: "PUT /menu/{id}",
      field: "stock",
      ...qty,
      nullable: true,
      mustAccept: true,
      // Keep the dish orderable: stock 0 switches it off.
      request: (v) => ["PUT", `/menu/${f.menu}`, { stock: v, available: true }],
    },
    {
      kind: "orders",
      route: "POST /orders",
      field: "quantity",
      min: 1,
      max: MAX_LINE_QUANTITY,
      int: true,
      conflicts: SOLD_OUT,
      request: (v) => ["POST", "/orders", ordered(v)],
    },
    {
      kind: "orders",
      route: "POST /orders",
      field: "menu_item_id",
      min: 1,
      max: MAX_INT,
      int: true,
      conflicts: SOLD_OUT,
      request: (v) => ["POST", "/orders", {
        items: [{ menu_item_id: v, quantity: 1 }],
      }],
    },
    {
      kind: "orders",
      route: "POST /orders",
      field: "table",
      min: 0,
      max: MAX_TABLE,
      int: true,
      nullable: true,
      textMax: 20,
      conflicts: SOLD_OUT,
      request: (v) => ["POST", "/orders", { ...ordered(1), table: v }],
    },
    {
      kind: "inventory",
      route: "POST /inventory",
      field: "quantity",
      ...qty,
      mustAccept: true,
      request: (
        v,
        n,
      ) => ["POST", "/inventory", { name: `Inv ${n}`, quantity: v }],
    },
    {
      kind: "inventory",
      route: "POST /inventory",
      field: "low_threshold",
      ...qty,
      nullable: true,
      mustAccept: true,
      request: (v, n) => ["POST", "/inventory", {
        name: `Low ${n}`,
        quantity: 1,
        low_threshold: v,
      }],
    },
    {
      kind: "inventory",
      route: "PATCH /inventory/{id}",
      field: "delta",
      min: -MAX_QUANTITY,
      max: MAX_QUANTITY,
      int: true,
      conflicts: /"code":"(insufficient_inventory|inventory_limit)"/,
      request: (v) => ["PATCH", `/inventory/${f.inventory}`, { delta: v }],
    },
    {
      kind: "inventory",
      route: "PATCH /inventory/{id}",
      field: "quantity",
      ...qty,
      mustAccept: true,
      request: (v) => ["PATCH", `/inventory/${f.inventory}`, { quantity: v }],
    },
    {
      kind: "inventory",
      route: "PATCH /inventory/{id}",
      field: "low_threshold",
      ...qty,
      nullable: true,
      mustAccept: true,
      request: (v) => ["PATCH", `/inventory/${f.inventory}`, {
        low_threshold: v,
      }],
    },
    {
      kind: "orders",
      route: "POST /api/order",
      field: "quantity",
      min: 1,
      max: MAX_LINE_QUANTITY,
      int: true,
      conflicts: SOLD_OUT,
      request: (v) => ["POST", "/api/order", {
        table: "T1",
        items: [{ name: "Chai", quantity: v }],
      }],
    },
    {
      kind: "orders",
      route: "POST /api/order",
      field: "table",
      min: 0,
      max: MAX_TABLE,
      int: true,
      textMax: 100,
      mustAccept: true,
      request: (v) => ["POST", "/api/order", {
        table: v,
        items: [{ name: "Chai", quantity: 1 }],
      }],
    },
    {
      kind: "vending",
      route: "POST /api/products",
      field: "stock",
      ...laravel,
      mustAccept: true,
      request: (
        v,
        n,
      ) => ["POST", "/api/products", { name: `P ${n}`, stock: v }],
    },
    {
      kind: "vending",
      route: "PATCH /api/products/{id}/stock",
      field: "stock",
      ...laravel,
      mustAccept: true,
      request: (v) => ["PATCH", `/api/products/${f.product}/stock`, {
        stock: v,
      }],
    },
    ...["machine_id", "product_id", "count", "coins"].map((field): Field => ({
      kind: "vending",
      route: "POST /api/orchestrator/choose-product",
      field,
      min: field.endsWith("_id") ? -MAX_INT : 1,
      max: MAX_INT,
      int: true,
      digitStrings: true,
      request: (v) => [
        "POST",
        "/api/orchestrator/choose-product",
        choose({
          [field]: v,
        }),
      ],
    })),
  ];
}
