/** Pure inventory rules: applying a change and deciding when stock is low. */
import { checkInventoryNumbers } from "./bounds.ts";
import { ConflictError } from "./errors.ts";
import { MAX_QUANTITY } from "./schemas.ts";
import type { InventoryChange, InventoryItem } from "./types.ts";

/** Whether an item is at or below its low-stock threshold. */
export function isLow(
  item: Pick<InventoryItem, "quantity" | "lowThreshold">,
): boolean {
  return item.lowThreshold !== null && item.quantity <= item.lowThreshold;
}

/**
 * Where the current quantity must lie for `delta` to keep it within
 * 0..MAX_QUANTITY. A store puts this in its UPDATE's WHERE clause, so the
 * bound is checked atomically with the write, and the SQL never computes a
 * sum that could overflow the column.
 */
export function deltaWindow(delta: number): { min: number; max: number } {
  return {
    min: Math.max(0, -delta),
    max: Math.min(MAX_QUANTITY, MAX_QUANTITY - delta),
  };
}

/** The 409 for a delta that would take `item` below zero or above MAX_QUANTITY. */
export function deltaRefused(
  item: InventoryItem,
  delta: number,
): ConflictError {
  const details = { id: item.id, quantity: item.quantity, delta };
  if (item.quantity + delta < 0) {
    return new ConflictError(
      "insufficient_inventory",
      `Inventory item "${item.name}" has only ${item.quantity} ${item.unit}`,
      details,
    );
  }
  return new ConflictError(
    "inventory_limit",
    `Inventory item "${item.name}" cannot hold more than ${MAX_QUANTITY} ${item.unit}`,
    { ...details, max: MAX_QUANTITY },
  );
}

/** A checked change: the values to store, and the delta's window when relative. */
export interface InventoryUpdate {
  quantity: number;
  lowThreshold: number | null;
  /** The relative change to apply in SQL, or null for an absolute one. */
  delta: number | null;
  window: { min: number; max: number };
}

/**
 * The quantity and threshold after a change: inputs outside their ranges are
 * a 422, a result below zero or above MAX_QUANTITY a 409 naming the limit.
 */
export function inventoryAfter(
  item: InventoryItem,
  change: InventoryChange,
): InventoryUpdate {
  checkInventoryNumbers(change);
  let quantity = change.quantity ?? item.quantity;
  let window = { min: 0, max: MAX_QUANTITY };
  const delta = change.delta ?? null;
  if (delta !== null) {
    window = deltaWindow(delta);
    if (quantity < window.min || quantity > window.max) {
      throw deltaRefused(item, delta);
    }
    quantity += delta;
  }
  const lowThreshold = change.lowThreshold === undefined
    ? item.lowThreshold
    : change.lowThreshold;
  return { quantity, lowThreshold, delta, window };
}
