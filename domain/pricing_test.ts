import assert from "node:assert/strict";
import { menuLookup, priceOrder } from "./pricing.ts";
import { ConflictError, ValidationError } from "./errors.ts";
import type { MenuItem } from "./types.ts";
import { duplicateKey } from "./name_key.ts";

const item = (id: number, over: Partial<MenuItem> = {}): MenuItem => ({
  id,
  name: `Dish ${id}`,
  description: "",
  priceCents: 1000 + id,
  category: "Mains",
  available: true,
  stock: null,
  createdAt: 0,
  updatedAt: 0,
  ...over,
});

Deno.test("priceOrder() prices from the menu and sums demand per tracked item", () => {
  const menu = menuLookup([item(1, { stock: 5 }), item(2)]);
  const p = priceOrder([
    { menuItemId: 1, quantity: 2 },
    { menuItemId: 2, quantity: 1, notes: "no onions" },
    { menuItemId: 1, quantity: 3 },
  ], menu);
  assert.equal(p.totalCents, 1001 * 5 + 1002);
  assert.equal(p.demand.get(1)?.quantity, 5);
  assert.equal(p.demand.has(2), false);
  assert.equal(p.lines[1]?.notes, "no onions");
});

Deno.test("priceOrder() records the stock each line takes: its quantity when tracked, else 0", () => {
  const p = priceOrder([
    { menuItemId: 1, quantity: 2 },
    { menuItemId: 2, quantity: 4 },
    { name: "Something else", quantity: 3 },
    { menuItemId: 1, quantity: 1 },
  ], menuLookup([item(1, { stock: 5 }), item(2)]));
  assert.deepEqual(p.lines.map((l) => l.stockTaken), [2, 0, 0, 1]);
});

Deno.test("priceOrder() links names case-insensitively and keeps others unpriced", () => {
  const p = priceOrder([
    { name: "dish 1", quantity: 1 },
    { name: "Something else", quantity: 2 },
  ], menuLookup([item(1)]));
  assert.equal(p.lines[0]?.menuItemId, 1);
  assert.equal(p.lines[1]?.unitPriceCents, null);
  assert.equal(p.totalCents, 1001);
});

Deno.test("priceOrder() links a name by its Unicode key, whatever its case or normalisation", () => {
  const menu = menuLookup([item(1, { name: "Éclair", stock: 3 })]);
  for (const name of ["Éclair", "ÉCLAIR", "e\u0301clair"]) {
    const p = priceOrder([{ name, quantity: 1 }], menu);
    assert.equal(p.lines[0]?.menuItemId, 1, name);
    assert.equal(p.demand.get(1)?.quantity, 1, name);
  }
  assert.throws(
    () => priceOrder([{ name: "éclair", quantity: 4 }], menu),
    ConflictError,
  );
});

Deno.test("priceOrder() matches names by the stored key: a row that lost its key is found by id only", () => {
  const kept = item(1, { name: "Éclair", nameKey: "éclair" });
  const later = item(2, {
    name: "éclair",
    nameKey: duplicateKey("éclair", 2),
  });
  for (const rows of [[kept, later], [later, kept]]) {
    const p = priceOrder([{ name: "ÉCLAIR", quantity: 1 }], menuLookup(rows));
    assert.equal(p.lines[0]?.menuItemId, 1);
  }
  const alone = priceOrder(
    [{ name: "éclair", quantity: 1 }],
    menuLookup([later]),
  );
  assert.equal(alone.lines[0]?.menuItemId, null);
  const byId = priceOrder(
    [{ menuItemId: 2, quantity: 1 }],
    menuLookup([later]),
  );
  assert.equal(byId.lines[0]?.menuItemId, 2);
});

Deno.test("priceOrder() rejects unknown, unavailable and sold-out items by name", () => {
  const menu = menuLookup([
    item(1, { stock: 2 }),
    item(2, { available: false }),
  ]);
  assert.throws(
    () => priceOrder([{ menuItemId: 9, quantity: 1 }], menu),
    ValidationError,
  );
  assert.throws(
    () => priceOrder([{ menuItemId: 2, quantity: 1 }], menu),
    (e: unknown) => e instanceof ConflictError && e.code === "item_unavailable",
  );
  assert.throws(
    () =>
      priceOrder([{ menuItemId: 1, quantity: 2 }, {
        menuItemId: 1,
        quantity: 1,
      }], menu),
    (e: unknown) =>
      e instanceof ConflictError && e.code === "out_of_stock" &&
      e.message === 'Only 2 of "Dish 1" left',
  );
});
