import assert from "node:assert/strict";
import { auditOrders, auditPassed, type WireOrder } from "./audit.ts";

const order = (id: number, notes: string): WireOrder => ({
  id,
  notes,
  total: 10,
  status: "pending",
  items: [{ menu_item_id: 1, quantity: 1 }],
});

Deno.test("auditOrders() passes when every acknowledgement is stored once", () => {
  const a = auditOrders(
    [{ id: 1, notes: "a" }, { id: 2, notes: "b" }],
    [order(1, "a"), order(2, "b")],
  );
  assert.deepEqual([a.lost, a.duplicated, a.mismatched, a.unacknowledged], [
    0,
    0,
    0,
    0,
  ]);
  assert.equal(auditPassed(a), true);
});

Deno.test("auditOrders() counts lost, duplicated, mismatched and unacknowledged orders", () => {
  const a = auditOrders(
    [{ id: 1, notes: "a" }, { id: 2, notes: "b" }, { id: 3, notes: "c" }],
    [order(1, "a"), order(2, "x"), order(4, "a"), order(5, "a"), order(6, "d")],
  );
  assert.equal(a.lost, 1);
  assert.deepEqual(a.samples.lost, [{ id: 3, notes: "c" }]);
  assert.equal(a.duplicated, 2);
  assert.deepEqual(a.samples.duplicated, ["a"]);
  assert.equal(a.mismatched, 1);
  assert.deepEqual(a.samples.unacknowledged, [4, 5, 6]);
  assert.equal(auditPassed(a), false);
});
