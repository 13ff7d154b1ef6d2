import assert from "node:assert/strict";
import {
  checkCoins,
  CHOOSE_RULES,
  FieldErrors,
  PRODUCT_RULES,
  requireFields,
  summarize,
  validateFields,
  WAIT_RULES,
} from "./vending_rules.ts";

Deno.test("validateFields() reports a missing, null, blank or empty field as required", () => {
  for (const name of [undefined, null, "", "   ", [], {}]) {
    const { errors } = validateFields({ name, stock: 1 }, PRODUCT_RULES);
    assert.deepEqual(errors, { name: ["The name field is required."] });
  }
});

Deno.test("validateFields() uses Laravel's type and size messages", () => {
  const { errors } = validateFields(
    { name: 12, stock: 1.5 },
    PRODUCT_RULES,
  );
  assert.deepEqual(errors, {
    name: ["The name field must be a string."],
    stock: ["The stock field must be an integer."],
  });
  assert.deepEqual(
    validateFields({ name: "x".repeat(256), stock: -1 }, PRODUCT_RULES).errors,
    {
      name: ["The name field must not be greater than 255 characters."],
      stock: ["The stock field must be at least 0."],
    },
  );
  assert.deepEqual(
    validateFields({ name: "ok", stock: 2 ** 31 }, PRODUCT_RULES).errors,
    { stock: ["The stock field must not be greater than 2147483647."] },
  );
});

Deno.test("validateFields() accepts integer strings like Laravel, trims names", () => {
  const { data, errors } = validateFields(
    { machine_id: "7", product_id: 2, count: "+3", coins: 3 },
    CHOOSE_RULES,
  );
  assert.deepEqual(errors, {});
  assert.deepEqual(data, { machine_id: 7, product_id: 2, count: 3, coins: 3 });
  assert.deepEqual(
    requireFields({ name: "  Cola ", stock: "0" }, PRODUCT_RULES),
    {
      name: "Cola",
      stock: 0,
    },
  );
  for (const bad of ["03", "1e3", "2.0", true, "abc"]) {
    assert.deepEqual(
      validateFields({ name: "x", stock: bad }, PRODUCT_RULES).errors.stock,
      ["The stock field must be an integer."],
      String(bad),
    );
  }
});

Deno.test("validateFields() names multi-word fields with spaces and treats a non-object as empty", () => {
  const { errors } = validateFields([1, 2], CHOOSE_RULES);
  assert.deepEqual(errors, {
    machine_id: ["The machine id field is required."],
    product_id: ["The product id field is required."],
    count: ["The count field is required."],
    coins: ["The coins field is required."],
  });
  assert.deepEqual(validateFields({}, WAIT_RULES).errors, {}, "optional");
  assert.deepEqual(validateFields({ wait_ms: "30001" }, WAIT_RULES).errors, {
    wait_ms: ["The wait ms field must not be greater than 30000."],
  });
});

Deno.test("summarize() is the first message plus how many more", () => {
  assert.equal(summarize({ a: ["A."] }), "A.");
  assert.equal(summarize({ a: ["A."], b: ["B."] }), "A. (and 1 more error)");
  assert.equal(
    summarize({ a: ["A."], b: ["B."], c: ["C."] }),
    "A. (and 2 more errors)",
  );
  assert.throws(
    () => requireFields({}, PRODUCT_RULES),
    (e) =>
      e instanceof FieldErrors &&
      e.message === "The name field is required. (and 1 more error)",
  );
});

Deno.test("checkCoins() wants exactly one coin per item", () => {
  const input = { machineId: 1, productId: 1, count: 2, coins: 2 };
  checkCoins(input);
  assert.throws(
    () => checkCoins({ ...input, coins: 3 }),
    { message: "Coins must equal the number of products (1 coin per item)." },
  );
});
