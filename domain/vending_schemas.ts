/**
 * Schemas of the vending API for the OpenAPI document. Requests are checked
 * by `vending_rules.ts` (Laravel's messages); these describe the same shapes.
 */
import { z } from "zod";
import { MACHINE_STATUSES } from "./vending.ts";
import { MAX_INT, MAX_WAIT_MS } from "./vending_rules.ts";

const time = z.string().meta({
  format: "date-time",
  example: "2026-01-01T00:00:00.000000Z",
});

/** A vending machine as returned. */
export const VendingMachineOut = z.object({
  id: z.number().int(),
  name: z.string(),
  status: z.enum(MACHINE_STATUSES),
  usage_count: z.number().int(),
  created_at: time,
  updated_at: time,
}).meta({ id: "VendingMachine" });

/** A vending product as returned. */
export const VendingProductOut = z.object({
  id: z.number().int(),
  name: z.string(),
  stock: z.number().int(),
  created_at: time,
  updated_at: time,
}).meta({ id: "VendingProduct" });

/** Body of `POST /api/vending-machines` and `PUT /api/vending-machines/{id}`. */
export const MachineBody = z.object({
  name: z.string().min(1).max(255).meta({ example: "Machine A" }),
}).meta({ id: "VendingMachineInput" });

/** Body of `POST /api/products`. */
export const ProductBody = z.object({
  name: z.string().min(1).max(255).meta({ example: "Cola" }),
  stock: z.number().int().min(0).max(MAX_INT).meta({ example: 200 }),
}).meta({ id: "VendingProductInput" });

/** Body of `PATCH /api/products/{id}/stock`. */
export const StockBody = z.object({
  stock: z.number().int().min(0).max(MAX_INT).meta({ example: 50 }),
}).meta({ id: "VendingStockInput" });

/** Body of `POST /api/orchestrator/choose-product`. */
export const ChooseBody = z.object({
  machine_id: z.number().int().meta({ example: 1 }),
  product_id: z.number().int().meta({ example: 1 }),
  count: z.number().int().min(1).max(MAX_INT).meta({ example: 3 }),
  coins: z.number().int().min(1).max(MAX_INT).meta({
    example: 3,
    description: "1 coin per item: must equal count",
  }),
}).meta({ id: "ChooseProduct" });

/** Query of `POST /api/orchestrator/start-work`. */
export const StartWorkQuery = z.object({
  wait_ms: z.coerce.number().int().min(0).max(MAX_WAIT_MS).optional().meta({
    description:
      "Wait up to this many ms for a machine, first come first served, instead of an immediate 409",
  }),
});

/** `{message, machine}` of start-work and reset. */
export const MachineMessageOut = z.object({
  message: z.string(),
  machine: VendingMachineOut,
});

/** `{message, machine, product}` of choose-product. */
export const PurchaseOut = z.object({
  message: z.string(),
  machine: VendingMachineOut,
  product: VendingProductOut,
});

/** Laravel's rule error. */
export const LaravelErrorOut = z.object({ error: z.string() }).meta({
  id: "LaravelError",
});

/** Laravel's field errors (422). */
export const LaravelFieldErrorsOut = z.object({
  message: z.string(),
  errors: z.record(z.string(), z.array(z.string())),
}).meta({ id: "LaravelValidationError" });

/** Laravel's 404. */
export const LaravelNotFoundOut = z.object({ message: z.string() }).meta({
  id: "LaravelNotFound",
});
