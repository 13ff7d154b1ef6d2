/** Pure inventory rules: applying a change and deciding when stock is low. */
import { ConflictError } from "./errors.ts";
import type { InventoryChange, InventoryItem } from "./types.ts";

/** Whether an item is at or below its low-stock threshold. */
export function isLow(
  item: Pick<InventoryItem, "quantity" | "lowThreshold">,
): boolean {
  return item.lowThreshold !== null && item.quantity <= item.lowThreshold;
}

/** The quantity and threshold after a change; a result below zero is a 409. */
export function inventoryAfter(
  item: InventoryItem,
  change: InventoryChange,
): { quantity: number; lowThreshold: number | null } {
  let quantity = item.quantity;
  if (change.quantity !== undefined) quantity = change.quantity;
  if (change.delta !== undefined) quantity += change.delta;
  if (quantity < 0) {
    throw new ConflictError(
      "insufficient_inventory",
      `Inventory item "${item.name}" has only ${item.quantity} ${item.unit}`,
      { id: item.id, quantity: item.quantity, delta: change.delta ?? null },
    );
  }
  const lowThreshold = change.lowThreshold === undefined
    ? item.lowThreshold
    : change.lowThreshold;
  return { quantity, lowThreshold };
}
