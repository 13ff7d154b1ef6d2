/** Bad input on every write route: a 4xx with the error body, and no row written. */
import assert from "node:assert/strict";
import type { Store } from "../db/store.ts";
import { addItem, testEachBackend as test } from "./_helpers.ts";

async function counts(store: Store) {
  return {
    menu: (await store.listMenu()).length,
    orders: (await store.listOrders({ limit: 10_000 })).length,
    inventory: (await store.listInventory()).length,
    events: await store.lastEventId(),
    stock: (await store.listMenu()).map((m) => m.stock),
  };
}

const json = (v: unknown) => JSON.stringify(v);
const HUGE = "x".repeat(1024 * 1024);

/** [description, body text, content type, expected status] per case. */
function orderCases(itemId: number): [string, string, string, number][] {
  const line = (over: Record<string, unknown>) =>
    json({ items: [{ menu_item_id: itemId, quantity: 1, ...over }] });
  return [
    ["quantity as string", line({ quantity: "2" }), "application/json", 422],
    ["zero quantity", line({ quantity: 0 }), "application/json", 422],
    ["negative quantity", line({ quantity: -3 }), "application/json", 422],
    ["huge quantity", line({ quantity: 1e12 }), "application/json", 422],
    ["fractional quantity", line({ quantity: 1.5 }), "application/json", 422],
    ["unknown item", line({ menu_item_id: 987654 }), "application/json", 422],
    [
      "id as string",
      line({ menu_item_id: String(itemId) }),
      "application/json",
      422,
    ],
    ["empty items", json({ items: [] }), "application/json", 422],
    ["no items", json({ customer_name: "A" }), "application/json", 422],
    ["items not a list", json({ items: "pizza" }), "application/json", 422],
    [
      "unknown top-level field",
      json({ items: [{ menu_item_id: itemId, quantity: 1 }], total: 0 }),
      "application/json",
      422,
    ],
    ["unknown line field", line({ price: 0 }), "application/json", 422],
    ["body is an array", json([1, 2]), "application/json", 422],
    ["body is null", "null", "application/json", 422],
    [
      "1 MB body",
      json({ items: [{ menu_item_id: itemId, quantity: 1 }], notes: HUGE }),
      "application/json",
      413,
    ],
    ["not JSON", "items=1", "application/json", 400],
    ["truncated JSON", '{"items":[{"menu_item_id":1', "application/json", 400],
    ["wrong content type", line({}), "text/plain", 415],
    ["form content type", "items=1", "application/x-www-form-urlencoded", 415],
    ["no content type", line({}), "", 415],
    [
      "too many lines",
      json({
        items: Array.from(
          { length: 101 },
          () => ({ menu_item_id: itemId, quantity: 1 }),
        ),
      }),
      "application/json",
      422,
    ],
    [
      "notes too long",
      json({
        items: [{ menu_item_id: itemId, quantity: 1 }],
        notes: "n".repeat(501),
      }),
      "application/json",
      422,
    ],
  ];
}

async function send(
  t: {
    app: {
      request: (u: string, i: RequestInit) => Response | Promise<Response>;
    };
  },
  method: string,
  url: string,
  body: string,
  type: string,
) {
  const headers: Record<string, string> = type ? { "content-type": type } : {};
  return await t.app.request(url, { method, headers, body });
}

test("POST /orders: every kind of bad input is a 4xx error body and writes nothing", async (t) => {
  const itemId = await addItem(t.store, { stock: 5 });
  const before = await counts(t.store);
  for (const [what, body, type, status] of orderCases(itemId)) {
    const res = await send(t, "POST", "/orders", body, type);
    assert.equal(res.status, status, what);
    const err = (await res.json()).error;
    assert.equal(typeof err.code, "string", what);
    assert.equal(typeof err.message, "string", what);
    assert.ok(
      !/sqlite|libsql|postgres|select |insert |at .*\.ts/i.test(err.message),
      what,
    );
  }
  assert.deepEqual(await counts(t.store), before);
});

test("menu, availability and inventory writes: bad input is a 4xx and writes nothing", async (t) => {
  const itemId = await addItem(t.store, { name: "Pasta" });
  const inv = await t.store.createInventoryItem({
    name: "Salt",
    quantity: 5,
    unit: "kg",
    lowThreshold: null,
  });
  const before = await counts(t.store);
  const cases: [string, string, string, string, number][] = [
    [
      "POST",
      "/menu",
      json({ name: "A", price: "free" }),
      "application/json",
      422,
    ],
    ["POST", "/menu", json({ name: "A", price: 1e9 }), "application/json", 422],
    [
      "POST",
      "/menu",
      json({ name: "pasta", price: 1 }),
      "application/json",
      409,
    ],
    ["POST", "/menu", "{", "application/json", 400],
    ["POST", "/menu", json({ name: "A", price: 1 }), "text/html", 415],
    ["POST", "/menu", json({ name: HUGE, price: 1 }), "application/json", 413],
    ["PUT", `/menu/${itemId}`, json({ price: -1 }), "application/json", 422],
    ["PUT", `/menu/${itemId}`, json({ stock: 1.5 }), "application/json", 422],
    ["PUT", "/menu/0", json({ price: 1 }), "application/json", 422],
    ["PUT", "/menu/abc", json({ price: 1 }), "application/json", 422],
    ["PUT", `/menu/${itemId}/availability`, json({}), "application/json", 422],
    [
      "PUT",
      `/menu/${itemId}/availability`,
      json({ available: 1 }),
      "application/json",
      422,
    ],
    [
      "POST",
      "/inventory",
      json({ name: "Oil", quantity: -1 }),
      "application/json",
      422,
    ],
    [
      "POST",
      "/inventory",
      json({ name: "Oil", quantity: 1, extra: true }),
      "application/json",
      422,
    ],
    [
      "POST",
      "/inventory",
      json({ name: "salt", quantity: 1 }),
      "application/json",
      409,
    ],
    [
      "PATCH",
      `/inventory/${inv.id}`,
      json({ delta: -6 }),
      "application/json",
      409,
    ],
    [
      "PATCH",
      `/inventory/${inv.id}`,
      json({ delta: "1" }),
      "application/json",
      422,
    ],
    ["PATCH", `/inventory/${inv.id}`, json({}), "application/json", 422],
    [
      "PATCH",
      `/inventory/${inv.id}`,
      json({ delta: 1e15 }),
      "application/json",
      422,
    ],
    ["PATCH", "/orders/1", json({ status: "eaten" }), "application/json", 422],
    [
      "PATCH",
      "/orders/1",
      json({ status: "ready", by: "me" }),
      "application/json",
      422,
    ],
  ];
  for (const [method, url, body, type, status] of cases) {
    const res = await send(t, method, url, body, type);
    assert.equal(res.status, status, `${method} ${url} ${body.slice(0, 60)}`);
    assert.equal(typeof (await res.json()).error.code, "string");
  }
  assert.deepEqual(await counts(t.store), before);
});

test("unknown routes answer a 404 error body", async (t) => {
  const res = await t.app.request("/nope");
  assert.equal(res.status, 404);
  assert.equal((await res.json()).error.code, "not_found");
});
