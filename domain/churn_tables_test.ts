import assert from "node:assert/strict";
import fc from "fast-check";
import { IdSlots, KeySlots } from "./churn_tables.ts";

Deno.test("IdSlots answers like a Map for numbered calls settled in any order", () => {
  fc.assert(
    fc.property(
      fc.constantFrom(4, 8, 64),
      // Each step starts a call (true) or settles one picked by index (false).
      fc.array(fc.tuple(fc.boolean(), fc.nat()), { maxLength: 300 }),
      (slots, steps) => {
        const table = new IdSlots<string>(slots);
        const model = new Map<number, string>();
        let next = 0;
        for (const [start, pick] of steps) {
          if (start || model.size === 0) {
            next++;
            table.set(next, `call ${next}`);
            model.set(next, `call ${next}`);
          } else {
            const ids = [...model.keys()];
            const id = ids[pick % ids.length]!;
            assert.equal(table.take(id), model.get(id));
            model.delete(id);
            assert.equal(table.take(id), undefined, "a settled call is gone");
          }
          assert.equal(table.size, model.size);
        }
        assert.deepEqual(
          table.drain().sort(),
          [...model.values()].sort(),
        );
        assert.equal(table.size, 0);
        assert.equal(table.take(next), undefined);
      },
    ),
  );
});

Deno.test("IdSlots keeps a long call while thousands of later ones share its slot", () => {
  const table = new IdSlots<number>(8);
  table.set(1, 1);
  for (let id = 2; id < 5000; id++) {
    table.set(id, id);
    assert.equal(table.take(id), id);
  }
  assert.equal(table.size, 1);
  assert.equal(table.take(1), 1);
  assert.equal(table.size, 0);
});

Deno.test("IdSlots holds undefined values and refuses a slot count that is not a power of two", () => {
  const table = new IdSlots<undefined>(4);
  table.set(1, undefined);
  table.set(5, undefined);
  assert.equal(table.size, 2);
  table.take(5);
  table.take(1);
  assert.equal(table.size, 0);
  assert.throws(() => new IdSlots(100), RangeError);
});

Deno.test("KeySlots treats keys that name Object.prototype members as plain keys", () => {
  const table = new KeySlots<number>();
  const keys = ["__proto__", "constructor", "toString", "hasOwnProperty", "1"];
  for (const key of keys) assert.equal(table.get(key), undefined, key);
  keys.forEach((key, i) => table.set(key, i));
  keys.forEach((key, i) => assert.equal(table.get(key), i, key));
  table.delete("__proto__");
  assert.equal(table.get("__proto__"), undefined);
  assert.equal(table.get("constructor"), 1);
});

Deno.test("KeySlots answers like a Map under random sets and deletes", () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.tuple(fc.boolean(), fc.string({ maxLength: 6 }), fc.integer()),
        { maxLength: 200 },
      ),
      (steps) => {
        const table = new KeySlots<number>();
        const model = new Map<string, number>();
        for (const [set, key, value] of steps) {
          if (set) {
            table.set(key, value);
            model.set(key, value);
          } else {
            table.delete(key);
            model.delete(key);
          }
          assert.equal(table.get(key), model.get(key));
        }
        for (const [key, value] of model) assert.equal(table.get(key), value);
      },
    ),
  );
});
