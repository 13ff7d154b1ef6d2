import assert from "node:assert/strict";
import fc from "fast-check";
import {
  canonicalJson,
  fingerprint,
  parseIdempotencyKey,
} from "./idempotency.ts";
import { BadRequestError } from "./errors.ts";

Deno.test("parseIdempotencyKey() accepts bare and quoted keys", () => {
  assert.equal(parseIdempotencyKey(undefined), null);
  assert.equal(parseIdempotencyKey("abc-123"), "abc-123");
  assert.equal(parseIdempotencyKey('"abc-123"'), "abc-123");
  assert.equal(parseIdempotencyKey("x".repeat(255)), "x".repeat(255));
});

Deno.test("parseIdempotencyKey() rejects empty, long and non-visible keys", () => {
  for (const bad of ["", '""', "x".repeat(256), "a b", "caf\u00e9", '"a"b"']) {
    assert.throws(() => parseIdempotencyKey(bad), BadRequestError, bad);
  }
});

Deno.test("fingerprint() ignores key order but not values", async () => {
  assert.equal(
    canonicalJson({ b: 1, a: [{ d: 2, c: 3 }] }),
    '{"a":[{"c":3,"d":2}],"b":1}',
  );
  assert.equal(
    await fingerprint({ a: 1, b: 2 }),
    await fingerprint({ b: 2, a: 1 }),
  );
  assert.notEqual(await fingerprint({ a: 1 }), await fingerprint({ a: 2 }));
  assert.match(await fingerprint({}), /^[0-9a-f]{64}$/);
});

Deno.test("fingerprint() of a stored body never changes between versions", async () => {
  // Keys stored by an earlier build must still match their retries.
  const body = JSON.parse(
    '{"notes":"Cashier C - Order 7 \\u00e9\\ud83c\\udf55","items":[{"quantity":2,"menu_item_id":1,"notes":null},{"menu_item_id":2,"quantity":1.5e0}],"table":12,"x":{"z":[[],{}],"a":true,"\\"q":"\\n"}}',
  );
  assert.equal(
    canonicalJson(body),
    '{"items":[{"menu_item_id":1,"notes":null,"quantity":2},{"menu_item_id":2,"quantity":1.5}],"notes":"Cashier C - Order 7 é🍕","table":12,"x":{"\\"q":"\\n","a":true,"z":[[],{}]}}',
  );
  assert.equal(
    await fingerprint(body),
    "227374b2df1497691e836b6971e48abd790b61fca56a9ee7838e165734942d24",
  );
});

Deno.test("canonicalJson() is JSON of the same value, whatever the key order", () => {
  fc.assert(
    fc.property(fc.jsonValue(), (value) => {
      const text = canonicalJson(value);
      assert.deepEqual(JSON.parse(text), JSON.parse(JSON.stringify(value)));
      const shuffled = JSON.parse(
        JSON.stringify(value),
        (_k, v) =>
          v !== null && typeof v === "object" && !Array.isArray(v)
            ? Object.fromEntries(Object.entries(v).reverse())
            : v,
      );
      assert.equal(canonicalJson(shuffled), text);
    }),
  );
});
