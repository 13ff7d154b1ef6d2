import assert from "node:assert/strict";
import { BadRequestError, ValidationError } from "../domain/errors.ts";
import { checkJsonValue, MAX_JSON_DEPTH } from "./_http.ts";

/** `levels` arrays or objects inside each other around `inner`. */
function nested(levels: number, inner: unknown, asObject = false): unknown {
  let v = inner;
  for (let i = 0; i < levels; i++) v = asObject ? { k: v } : [v];
  return v;
}

Deno.test("checkJsonValue() takes MAX_JSON_DEPTH levels and refuses one more", () => {
  for (const asObject of [false, true]) {
    checkJsonValue(nested(MAX_JSON_DEPTH, "deepest", asObject));
    assert.throws(
      () => checkJsonValue(nested(MAX_JSON_DEPTH + 1, 1, asObject)),
      (e) => e instanceof BadRequestError && e.code === "json_too_deep",
    );
  }
  // A scalar at the last level is no deeper than its container.
  checkJsonValue(nested(MAX_JSON_DEPTH, null));
  const deep = JSON.parse("[".repeat(100_000) + "]".repeat(100_000));
  assert.throws(() => checkJsonValue(deep), BadRequestError);
});

Deno.test("checkJsonValue() refuses NUL and unpaired surrogates in keys and values at any depth", () => {
  const bad = [
    { "a\u0000b": 1 },
    { items: [{ notes: "x\u0000" }] },
    [[["lone \ud800"]]],
    { ok: { "\udfff": true } },
  ];
  for (const v of bad) {
    assert.throws(
      () => checkJsonValue(v),
      (e) => e instanceof ValidationError && e.code === "invalid_text",
      JSON.stringify(v),
    );
  }
  checkJsonValue({ notes: "crème brûlée 🍰", items: [1, true, null, "ok"] });
});
