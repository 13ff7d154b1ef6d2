/** Response shapes for the OpenAPI document (the wire functions produce them). */
import { z } from "zod";
import { ORDER_STATUSES } from "./order_status.ts";

const time = z.string().meta({ format: "date-time" });

/** A menu item as returned. */
export const MenuItemOut = z.object({
  id: z.number().int(),
  name: z.string(),
  description: z.string(),
  price: z.number(),
  category: z.string(),
  available: z.boolean(),
  stock: z.number().int().nullable(),
  created_at: time,
  updated_at: time,
}).meta({ id: "MenuItem" });

/** An order as returned. */
export const OrderOut = z.object({
  id: z.number().int(),
  status: z.enum(ORDER_STATUSES),
  customer_name: z.string().nullable(),
  table: z.string().nullable(),
  notes: z.string().nullable(),
  total: z.number(),
  version: z.number().int(),
  source: z.enum(["pos", "table"]),
  items: z.array(z.object({
    id: z.number().int(),
    menu_item_id: z.number().int().nullable(),
    name: z.string(),
    quantity: z.number().int(),
    price: z.number().nullable(),
    notes: z.string().nullable(),
  })),
  created_at: time,
  updated_at: time,
}).meta({ id: "Order" });

/** An inventory item as returned. */
export const InventoryOut = z.object({
  id: z.number().int(),
  name: z.string(),
  quantity: z.number().int(),
  unit: z.string(),
  low_threshold: z.number().int().nullable(),
  low: z.boolean(),
  created_at: time,
  updated_at: time,
}).meta({ id: "InventoryItem" });

/** The native error body. */
export const ErrorOut = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    details: z.record(z.string(), z.unknown()),
  }),
}).meta({ id: "Error" });
