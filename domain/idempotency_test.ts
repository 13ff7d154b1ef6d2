import assert from "node:assert/strict";
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
