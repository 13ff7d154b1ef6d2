import assert from "node:assert/strict";
import fc from "fast-check";
import { iso } from "./wire.ts";

Deno.test("iso() answers every instant right, repeated or alternating", () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: -8.64e15, max: 8.64e15 }), { maxLength: 20 }),
      (times) => {
        for (const ms of [...times, ...times.reverse()]) {
          assert.equal(iso(ms), new Date(ms).toISOString());
          assert.equal(iso(ms), new Date(ms).toISOString());
        }
      },
    ),
  );
});

Deno.test("iso() refuses an instant that is not one", () => {
  assert.throws(() => iso(Number.NaN), RangeError);
  iso(0);
  assert.throws(() => iso(8.64e15 + 1), RangeError);
  assert.equal(iso(0), "1970-01-01T00:00:00.000Z");
});
