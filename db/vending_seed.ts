/** The standard vending scenario: 5 idle machines, 10 products with 200 each. */
import type { VendingStore } from "./vending_store.ts";

/** Machine names of the standard scenario. */
export const SEED_MACHINES = [
  "Machine A",
  "Machine B",
  "Machine C",
  "Machine D",
  "Machine E",
];

/** Product names of the standard scenario. */
export const SEED_PRODUCTS = [
  "Cola",
  "Water",
  "Orange Juice",
  "Iced Tea",
  "Lemonade",
  "Coffee",
  "Chocolate Bar",
  "Crisps",
  "Cookies",
  "Chewing Gum",
];

/** Stock of every seeded product. */
export const SEED_STOCK = 200;

/**
 * Replaces every machine and product with the standard scenario; ids restart
 * at 1, so machines are 1–5 and products 1–10 as clients of the Laravel
 * orchestrator expect. The rest of the database is left alone.
 */
export async function seedVending(
  vending: VendingStore,
): Promise<{ machines: number; products: number }> {
  await vending.clear();
  for (const name of SEED_MACHINES) await vending.createMachine(name);
  for (const name of SEED_PRODUCTS) {
    await vending.createProduct({ name, stock: SEED_STOCK });
  }
  return { machines: SEED_MACHINES.length, products: SEED_PRODUCTS.length };
}
