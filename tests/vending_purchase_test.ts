/** choose-product over HTTP: rules in Laravel's order, messages, idempotency, events. */
import assert from "node:assert/strict";
import { jsonReq, type TestCtx, testEachBackend } from "./_helpers.ts";

async function call(
  t: TestCtx,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
) {
  const res = await t.app.request(path, jsonReq(method, body, headers));
  const text = await res.text();
  return {
    status: res.status,
    headers: res.headers,
    json: text ? JSON.parse(text) : null,
  };
}

/** Two machines (one claimed) and a product with `stock`. */
async function scene(t: TestCtx, stock = 10) {
  const a =
    (await call(t, "POST", "/api/vending-machines", { name: "A" })).json.id;
  const b =
    (await call(t, "POST", "/api/vending-machines", { name: "B" })).json.id;
  const product =
    (await call(t, "POST", "/api/products", { name: "Cola", stock })).json.id;
  const claimed =
    (await call(t, "POST", "/api/orchestrator/start-work")).json.machine.id;
  assert.equal(claimed, a);
  return { claimed, idle: b, product };
}

const choose = (
  t: TestCtx,
  body: unknown,
  headers: Record<string, string> = {},
) => call(t, "POST", "/api/orchestrator/choose-product", body, headers);

testEachBackend(
  "choose-product sells, takes stock and starts processing",
  async (t) => {
    const s = await scene(t);
    const before = await t.store.lastEventId();
    const r = await choose(t, {
      machine_id: s.claimed,
      product_id: s.product,
      count: 3,
      coins: 3,
    });
    assert.equal(r.status, 200);
    assert.equal(
      r.json.message,
      "Product selected. Machine is now processing.",
    );
    assert.equal(r.json.machine.status, "processing");
    assert.equal(r.json.machine.usage_count, 0);
    assert.equal(r.json.product.stock, 7);
    const events = await t.store.listEvents(before);
    assert.deepEqual(events.map((e) => e.type).sort(), [
      "vending.machine.updated",
      "vending.product.updated",
    ]);
    const again = await choose(t, {
      machine_id: s.claimed,
      product_id: s.product,
      count: 1,
      coins: 1,
    });
    assert.equal(again.status, 422);
    assert.deepEqual(again.json, {
      error: "Machine is not in choose_product state.",
    });
  },
);

testEachBackend(
  "choose-product: every field message, ids that do not exist included",
  async (t) => {
    const s = await scene(t);
    const empty = await choose(t, {});
    assert.equal(empty.status, 422);
    assert.deepEqual(empty.json, {
      message: "The machine id field is required. (and 3 more errors)",
      errors: {
        machine_id: ["The machine id field is required."],
        product_id: ["The product id field is required."],
        count: ["The count field is required."],
        coins: ["The coins field is required."],
      },
    });
    const wrong = await choose(t, {
      machine_id: 999,
      product_id: "x",
      count: 0,
      coins: -2,
    });
    assert.deepEqual(wrong.json, {
      message: "The selected machine id is invalid. (and 3 more errors)",
      errors: {
        machine_id: ["The selected machine id is invalid."],
        product_id: ["The product id field must be an integer."],
        count: ["The count field must be at least 1."],
        coins: ["The coins field must be at least 1."],
      },
    });
    const missing = await choose(t, {
      machine_id: 999,
      product_id: 998,
      count: 1,
      coins: 2,
    });
    assert.equal(missing.status, 422);
    assert.deepEqual(missing.json.errors, {
      machine_id: ["The selected machine id is invalid."],
      product_id: ["The selected product id is invalid."],
    }, "existence is checked before the coin rule, as in Laravel");
    const stockAfter = (await call(t, "GET", "/api/products")).json[0].stock;
    assert.equal(stockAfter, 10, "nothing sold");
    assert.equal(
      (await choose(t, {
        machine_id: s.claimed,
        product_id: s.product,
        count: 1,
        coins: 1,
      })).status,
      200,
      "the claim is still usable after all those errors",
    );
  },
);

testEachBackend(
  "choose-product rule errors: coins, machine state, stock",
  async (t) => {
    const s = await scene(t, 2);
    const coins = await choose(t, {
      machine_id: s.claimed,
      product_id: s.product,
      count: 2,
      coins: 1,
    });
    assert.equal(coins.status, 422);
    assert.deepEqual(coins.json, {
      error: "Coins must equal the number of products (1 coin per item).",
    });
    const idle = await choose(t, {
      machine_id: s.idle,
      product_id: s.product,
      count: 1,
      coins: 1,
    });
    assert.deepEqual(idle.json, {
      error: "Machine is not in choose_product state.",
    });
    const stock = await choose(t, {
      machine_id: s.claimed,
      product_id: s.product,
      count: 3,
      coins: 3,
    });
    assert.equal(stock.status, 422);
    assert.deepEqual(stock.json, { error: "Insufficient stock. Available: 2" });
    const ok = await choose(t, {
      machine_id: s.claimed,
      product_id: s.product,
      count: 2,
      coins: 2,
    });
    assert.equal(ok.json.product.stock, 0);
  },
);

testEachBackend(
  "choose-product with Idempotency-Key sells once and replays",
  async (t) => {
    const s = await scene(t);
    const body = {
      machine_id: s.claimed,
      product_id: s.product,
      count: 2,
      coins: 2,
    };
    const key = { "idempotency-key": "buy-1" };
    const first = await choose(t, body, key);
    assert.equal(first.status, 200);
    assert.equal(first.headers.get("idempotent-replayed"), null);
    const replay = await choose(t, { ...body }, key);
    assert.equal(replay.status, 200);
    assert.equal(replay.headers.get("idempotent-replayed"), "true");
    assert.deepEqual(replay.json, first.json);
    assert.equal(
      (await call(t, "GET", "/api/products")).json[0].stock,
      8,
      "sold once",
    );

    const reused = await choose(t, { ...body, count: 1, coins: 1 }, key);
    assert.equal(reused.status, 422);
    assert.match(reused.json.error, /buy-1/);

    const badKey = await choose(t, body, { "idempotency-key": "" });
    assert.equal(badKey.status, 400);
    assert.equal(typeof badKey.json.error, "string");

    // Concurrent duplicates: one sale, every answer the same.
    const claimed =
      (await call(t, "POST", "/api/orchestrator/start-work")).json.machine.id;
    const dup = {
      machine_id: claimed,
      product_id: s.product,
      count: 1,
      coins: 1,
    };
    const answers = await Promise.all(
      Array.from(
        { length: 10 },
        () => choose(t, dup, { "idempotency-key": "buy-2" }),
      ),
    );
    for (const a of answers) {
      assert.equal(a.status, 200);
      assert.deepEqual(a.json, answers[0]!.json);
    }
    assert.equal((await call(t, "GET", "/api/products")).json[0].stock, 7);
  },
);

testEachBackend(
  "a failed purchase is not remembered under its key",
  async (t) => {
    const s = await scene(t, 1);
    const key = { "idempotency-key": "retry-me" };
    const body = {
      machine_id: s.claimed,
      product_id: s.product,
      count: 2,
      coins: 2,
    };
    const short = await choose(t, body, key);
    assert.deepEqual(short.json, { error: "Insufficient stock. Available: 1" });
    await call(t, "PATCH", `/api/products/${s.product}/stock`, { stock: 5 });
    const retried = await choose(t, body, key);
    assert.equal(
      retried.status,
      200,
      "the retry runs, since nothing happened the first time",
    );
    assert.equal(retried.json.product.stock, 3);
  },
);
