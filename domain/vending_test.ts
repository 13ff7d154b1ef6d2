import assert from "node:assert/strict";
import {
  freeAt,
  laravelTime,
  machineJson,
  type MachineRecord,
  resetOf,
  settle,
} from "./vending.ts";

const TTL = { claimTtlMs: 1000 };
const base: MachineRecord = {
  id: 1,
  name: "A",
  status: "idle",
  usageCount: 2,
  busyUntil: null,
  claimedAt: null,
  createdAt: 0,
  updatedAt: 10,
};
const processing = { ...base, status: "processing", busyUntil: 500 } as const;
const claimed = { ...base, status: "choose_product", claimedAt: 100 } as const;

Deno.test("settle() keeps a processing machine busy until its lease ends", () => {
  assert.deepEqual(settle(processing, 499, TTL), processing);
});

Deno.test("settle() makes a machine idle with one more use once its lease has passed", () => {
  const m = settle(processing, 500, TTL);
  assert.equal(m.status, "idle");
  assert.equal(m.usageCount, 3);
  assert.equal(m.busyUntil, null);
  assert.equal(m.updatedAt, 500, "updated when the lease ended, not when read");
  assert.deepEqual(settle(processing, 10_000, TTL), m, "idempotent in time");
});

Deno.test("settle() returns an unanswered claim to idle after the TTL, uncounted", () => {
  assert.equal(settle(claimed, 1099, TTL).status, "choose_product");
  const m = settle(claimed, 1100, TTL);
  assert.equal(m.status, "idle");
  assert.equal(m.usageCount, 2);
  assert.equal(m.claimedAt, null);
});

Deno.test("freeAt() names the lease end of busy machines only", () => {
  assert.equal(freeAt(processing, TTL), 500);
  assert.equal(freeAt(claimed, TTL), 1100);
  assert.equal(freeAt(base, TTL), null);
});

Deno.test("resetOf() refuses an idle machine, also one whose lease has passed", () => {
  assert.equal(resetOf(base, 0, TTL), null);
  assert.equal(resetOf(processing, 600, TTL), null);
  assert.equal(resetOf(claimed, 5000, TTL), null);
});

Deno.test("resetOf() ends a vend early and counts it, and clears the lease", () => {
  const m = resetOf(processing, 200, TTL)!;
  assert.equal(m.status, "idle");
  assert.equal(m.usageCount, 3);
  assert.equal(m.busyUntil, null);
  assert.equal(m.updatedAt, 200);
  // The old lease is gone: nothing changes when its time comes.
  assert.deepEqual(settle(m, 10_000, TTL), m);
});

Deno.test("resetOf() frees a claimed machine without counting a use", () => {
  const m = resetOf(claimed, 200, TTL)!;
  assert.equal(m.status, "idle");
  assert.equal(m.usageCount, 2);
  assert.equal(m.claimedAt, null);
});

Deno.test("machineJson() speaks Laravel: snake_case and microsecond timestamps", () => {
  assert.equal(
    laravelTime(Date.UTC(2026, 0, 1)),
    "2026-01-01T00:00:00.000000Z",
  );
  assert.deepEqual(machineJson({ ...base, createdAt: 1, updatedAt: 1 }), {
    id: 1,
    name: "A",
    status: "idle",
    usage_count: 2,
    created_at: "1970-01-01T00:00:00.001000Z",
    updated_at: "1970-01-01T00:00:00.001000Z",
  });
});
