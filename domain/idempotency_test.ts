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

Deno.test("parseIdempotencyKey() reads RFC 8941 sf-strings: spaces, escapes, the unescaped value", () => {
  assert.equal(
    parseIdempotencyKey('"order 42 terminal 3"'),
    "order 42 terminal 3",
  );
  assert.equal(parseIdempotencyKey('"say \\"hi\\""'), 'say "hi"');
  assert.equal(parseIdempotencyKey('"back\\\\slash"'), "back\\slash");
  assert.equal(parseIdempotencyKey('" "'), " ");
  assert.equal(parseIdempotencyKey(' \t"padded" '), "padded");
  assert.equal(
    parseIdempotencyKey('"~!#$%&()*+,-./:;<=>?@[]^_`{|}"'),
    "~!#$%&()*+,-./:;<=>?@[]^_`{|}",
  );
  assert.equal(
    parseIdempotencyKey('"abc"'),
    parseIdempotencyKey("abc"),
    "the quoted form and the bare token are one key",
  );
  // 255 characters after unescaping, though the header itself is longer.
  const escaped = `"${'\\"'.repeat(255)}"`;
  assert.equal(parseIdempotencyKey(escaped), '"'.repeat(255));
  assert.throws(
    () => parseIdempotencyKey(`"${'\\"'.repeat(256)}"`),
    /1 to 255 characters long \(got 256\)/,
  );
});

Deno.test("parseIdempotencyKey() refuses malformed sf-strings with a message saying why", () => {
  const cases: [string, RegExp][] = [
    ['"abc', /no closing quote/],
    ['"abc\\"', /no closing quote/],
    ['"a\\nb"', /escape only .* \(found \\n at character 3\)/],
    ['"a\\\u00e9"', /found \\U\+00E9/],
    ['"caf\u00e9"', /printable ASCII \(0x20-0x7E\) .*U\+00E9 at character 5/],
    ['"tab\there"', /U\+0009/],
    ['"del\u007f"', /U\+007F/],
    ['"abc";p=1', /closing quote \(no parameters\)/],
    ['"abc" "def"', /closing quote/],
    ["abc def", /quoted string/],
    ["caf\u00e9", /quoted string/],
    ["", /1 to 255 characters long \(got 0\)/],
    ['""', /got 0/],
  ];
  for (const [raw, message] of cases) {
    assert.throws(
      () => parseIdempotencyKey(raw),
      (e: unknown) =>
        e instanceof BadRequestError &&
        e.code === "invalid_idempotency_key" && message.test(e.message),
      raw,
    );
  }
});

Deno.test("parseIdempotencyKey() reads back every printable ASCII string it is sent quoted", () => {
  const printable = fc.string({
    unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) =>
      String.fromCharCode(c)
    ),
    minLength: 1,
    maxLength: 255,
  });
  fc.assert(
    fc.property(printable, (key) => {
      const quoted = `"${key.replace(/["\\]/g, (c) => `\\${c}`)}"`;
      assert.equal(parseIdempotencyKey(quoted), key);
    }),
  );
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
