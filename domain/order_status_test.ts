import assert from "node:assert/strict";
import { assertTransition, canTransition } from "./order_status.ts";
import { ConflictError } from "./errors.ts";

Deno.test("canTransition() follows the kitchen lifecycle", () => {
  assert.equal(canTransition("pending", "in_progress"), true);
  assert.equal(canTransition("in_progress", "ready"), true);
  assert.equal(canTransition("ready", "completed"), true);
  assert.equal(canTransition("ready", "in_progress"), true);
  assert.equal(canTransition("pending", "cancelled"), true);
  assert.equal(canTransition("in_progress", "cancelled"), true);
  assert.equal(canTransition("ready", "cancelled"), false);
  assert.equal(canTransition("completed", "pending"), false);
  assert.equal(canTransition("cancelled", "pending"), false);
  assert.equal(canTransition("pending", "ready"), false);
  assert.equal(canTransition("pending", "pending"), false);
});

Deno.test("assertTransition() names both states and the allowed moves", () => {
  assert.throws(
    () => assertTransition("completed", "pending", { orderId: 7 }),
    (e: unknown) =>
      e instanceof ConflictError && e.code === "illegal_transition" &&
      e.message === 'Order "7" cannot move from "completed" to "pending"',
  );
});
