/** Request schemas: they validate input and generate the OpenAPI document. */
import { z } from "zod";
import { ORDER_STATUSES } from "./order_status.ts";

/** Largest quantity of one line; a restaurant never rings up more at once. */
export const MAX_LINE_QUANTITY = 100;
/** Largest number of lines in one order. */
export const MAX_ORDER_LINES = 100;
/** Highest menu price accepted, in currency units. */
export const MAX_PRICE = 100_000;
/** Highest stock or inventory quantity accepted. */
export const MAX_QUANTITY = 1_000_000_000;

const text = (max: number) => z.string().trim().max(max);
const id = z.number().int().positive().max(2 ** 31 - 1);

/** A price in currency units with at most two decimals. */
export const Price = z.number().min(0).max(MAX_PRICE).refine(
  (v) => Math.abs(v * 100 - Math.round(v * 100)) < 1e-6,
  { message: "Price must have at most two decimals" },
).meta({ example: 12.5 });

/** Body of `POST /orders`. */
export const NewOrderBody = z.strictObject({
  items: z.array(z.strictObject({
    menu_item_id: id.meta({ example: 1 }),
    quantity: z.number().int().min(1).max(MAX_LINE_QUANTITY).meta({
      example: 2,
    }),
    notes: text(200).nullish(),
  })).min(1).max(MAX_ORDER_LINES),
  customer_name: text(100).nullish(),
  table: z.union([text(20).min(1), z.number().int().min(0).max(1_000_000)])
    .nullish(),
  notes: text(500).nullish(),
}).meta({ id: "NewOrder" });

/** Body of `PATCH /orders/{id}`. */
export const OrderStatusBody = z.strictObject({
  status: z.enum(ORDER_STATUSES),
}).meta({ id: "OrderStatusChange" });

/** Query of `GET /orders`. */
export const OrderListQuery = z.strictObject({
  status: z.string().optional().meta({
    description: "One status or a comma-separated list",
    example: "pending,in_progress",
  }),
  limit: z.coerce.number().int().min(1).max(1000).default(50),
  before: z.coerce.number().int().positive().optional().meta({
    description: "Cursor: only orders with a smaller id",
  }),
});

const menuFields = {
  name: text(100).min(1).meta({ example: "Margherita pizza" }),
  description: text(500),
  price: Price,
  category: text(50).min(1).meta({ example: "Pizza" }),
  available: z.boolean(),
  stock: z.number().int().min(0).max(MAX_QUANTITY).nullable().meta({
    description: "null: not tracked",
  }),
};

/** Body of `POST /menu`. */
export const NewMenuItemBody = z.strictObject({
  ...menuFields,
  description: menuFields.description.default(""),
  category: menuFields.category.default("Mains"),
  available: menuFields.available.default(true),
  stock: menuFields.stock.default(null),
}).meta({ id: "NewMenuItem" });

/** Body of `PUT /menu/{id}`: any subset of the fields, at least one. */
export const MenuItemUpdateBody = z.strictObject({
  name: menuFields.name.optional(),
  description: menuFields.description.optional(),
  price: menuFields.price.optional(),
  category: menuFields.category.optional(),
  available: menuFields.available.optional(),
  stock: menuFields.stock.optional(),
}).refine((v) => Object.keys(v).length > 0, {
  message: "Send at least one field to change",
}).meta({ id: "MenuItemUpdate" });

/** Body of `PUT /menu/{id}/availability`. */
export const AvailabilityBody = z.strictObject({ available: z.boolean() })
  .meta({ id: "Availability" });

/** Query of `GET /menu`. */
export const MenuListQuery = z.strictObject({
  category: z.string().optional(),
  available: z.enum(["true", "false"]).optional(),
});

/** Body of `POST /inventory`. */
export const NewInventoryBody = z.strictObject({
  name: text(100).min(1).meta({ example: "Mozzarella" }),
  quantity: z.number().int().min(0).max(MAX_QUANTITY),
  unit: text(20).min(1).default("pcs").meta({ example: "kg" }),
  low_threshold: z.number().int().min(0).max(MAX_QUANTITY).nullable().default(
    null,
  ),
}).meta({ id: "NewInventoryItem" });

/** Body of `PATCH /inventory/{id}`: a relative `delta` or an absolute `quantity`. */
export const InventoryChangeBody = z.strictObject({
  delta: z.number().int().min(-MAX_QUANTITY).max(MAX_QUANTITY).optional(),
  quantity: z.number().int().min(0).max(MAX_QUANTITY).optional(),
  low_threshold: z.number().int().min(0).max(MAX_QUANTITY).nullable()
    .optional(),
}).refine((v) => !(v.delta !== undefined && v.quantity !== undefined), {
  message: "Send either delta or quantity, not both",
}).refine((v) => Object.keys(v).length > 0, {
  message: "Send delta, quantity or low_threshold",
}).meta({ id: "InventoryChange" });

/** A positive integer path id. */
export const IdParam = z.strictObject({
  id: z.string().regex(/^[1-9][0-9]{0,9}$/, "Id must be a positive integer")
    .transform(Number).pipe(id),
});
