/**
 * The documented numeric limits, checked by every store before a number
 * reaches the database. The HTTP schemas refuse the same values first; these
 * checks hold for every other caller (seeds, tasks, a future surface) and
 * keep both backends alike: SQLite would store any 64-bit integer, where
 * PostgreSQL's `integer` stops at 2^31 - 1 with a driver error. (The vending
 * stores check theirs with `requireFields`, in Laravel's words.)
 */
import { ValidationError } from "./errors.ts";
import { MAX_PRICE, MAX_QUANTITY } from "./schemas.ts";
import type {
  InventoryChange,
  InventoryInput,
  MenuItemPatch,
} from "./types.ts";

/** Highest price in cents (`MAX_PRICE` currency units). */
export const MAX_PRICE_CENTS = MAX_PRICE * 100;

/** A 422 naming `field` and its range when `value` is not an integer inside it. */
export function checkInt(
  field: string,
  value: number,
  range: { min: number; max: number },
): void {
  if (Number.isSafeInteger(value) && value >= range.min && value <= range.max) {
    return;
  }
  throw new ValidationError(
    "out_of_range",
    `Field "${field}" must be an integer from ${range.min} to ${range.max}`,
    { field, min: range.min, max: range.max },
  );
}

const QUANTITY = { min: 0, max: MAX_QUANTITY };

/** Checks the numbers of a new menu item or of a change to one. */
export function checkMenuNumbers(input: MenuItemPatch): void {
  if (input.priceCents !== undefined) {
    checkInt("price_cents", input.priceCents, { min: 0, max: MAX_PRICE_CENTS });
  }
  if (input.stock !== undefined && input.stock !== null) {
    checkInt("stock", input.stock, QUANTITY);
  }
}

/** Checks the numbers of a new inventory item or of a change to one. */
export function checkInventoryNumbers(
  input: Partial<InventoryInput> & InventoryChange,
): void {
  if (input.quantity !== undefined) {
    checkInt("quantity", input.quantity, QUANTITY);
  }
  if (input.lowThreshold !== undefined && input.lowThreshold !== null) {
    checkInt("low_threshold", input.lowThreshold, QUANTITY);
  }
  if (input.delta !== undefined) {
    checkInt("delta", input.delta, { min: -MAX_QUANTITY, max: MAX_QUANTITY });
  }
}
