/** `/menu` and `/inventory` over HTTP: happy paths and every documented error. */
import assert from "node:assert/strict";
import { addItem, jsonReq, testEachBackend as test } from "./_helpers.ts";

test("POST /menu creates with defaults; duplicate name (any case) is 409", async (t) => {
  const res = await t.app.request(
    "/menu",
    jsonReq("POST", { name: "Gnocchi", price: 11.9 }),
  );
  assert.equal(res.status, 201);
  const item = await res.json();
  assert.deepEqual(
    { ...item, id: 0, created_at: "", updated_at: "" },
    {
      id: 0,
      name: "Gnocchi",
      description: "",
      price: 11.9,
      category: "Mains",
      available: true,
      stock: null,
      created_at: "",
      updated_at: "",
    },
  );
  const dup = await t.app.request(
    "/menu",
    jsonReq("POST", { name: "gnocchi", price: 1 }),
  );
  assert.equal(dup.status, 409);
  assert.equal((await dup.json()).error.code, "duplicate_name");
  assert.equal((await t.store.listMenu()).length, 1);
});

test("POST /menu rejects bad prices and fields with 422", async (t) => {
  for (
    const body of [
      { name: "X", price: -1 },
      { name: "X", price: 1.234 },
      { name: "X", price: "12" },
      { name: "", price: 1 },
      { name: "X", price: 1, stock: -5 },
      { name: "X", price: 1, colour: "red" },
      { price: 1 },
    ]
  ) {
    const res = await t.app.request("/menu", jsonReq("POST", body));
    assert.equal(res.status, 422, JSON.stringify(body));
    const err = (await res.json()).error;
    assert.equal(err.code, "validation_failed");
    assert.ok(err.details.issues.length > 0);
  }
  assert.equal((await t.store.listMenu()).length, 0);
});

test("GET /menu filters by category and availability; GET /menu/{id} 200/404", async (t) => {
  const a = await addItem(t.store, { name: "Cola", category: "Drinks" });
  await addItem(t.store, {
    name: "Soup",
    category: "Starters",
    available: false,
  });
  const drinks = await (await t.app.request("/menu?category=drinks")).json();
  assert.deepEqual(drinks.map((m: { id: number }) => m.id), [a]);
  const off = await (await t.app.request("/menu?available=false")).json();
  assert.deepEqual(off.map((m: { name: string }) => m.name), ["Soup"]);
  const bad = await t.app.request("/menu?available=maybe");
  assert.equal(bad.status, 422);
  await bad.body?.cancel();
  assert.equal((await (await t.app.request(`/menu/${a}`)).json()).name, "Cola");
  const missing = await t.app.request("/menu/9999");
  assert.equal(missing.status, 404);
  await missing.body?.cancel();
});

test("PUT /menu/{id} changes fields; availability; errors", async (t) => {
  const id = await addItem(t.store, { name: "Pasta", priceCents: 1000 });
  await addItem(t.store, { name: "Pizza" });
  const res = await t.app.request(
    `/menu/${id}`,
    jsonReq("PUT", { price: 12.25, stock: 3 }),
  );
  assert.equal(res.status, 200);
  const item = await res.json();
  assert.deepEqual([item.price, item.stock, item.name], [12.25, 3, "Pasta"]);
  const off = await t.app.request(
    `/menu/${id}/availability`,
    jsonReq("PUT", { available: false }),
  );
  assert.equal((await off.json()).available, false);
  const clash = await t.app.request(
    `/menu/${id}`,
    jsonReq("PUT", { name: "PIZZA" }),
  );
  assert.equal(clash.status, 409);
  await clash.body?.cancel();
  const empty = await t.app.request(`/menu/${id}`, jsonReq("PUT", {}));
  assert.equal(empty.status, 422);
  await empty.body?.cancel();
  const missing = await t.app.request(
    "/menu/9999",
    jsonReq("PUT", { price: 1 }),
  );
  assert.equal(missing.status, 404);
  await missing.body?.cancel();
  const badAvail = await t.app.request(
    `/menu/${id}/availability`,
    jsonReq("PUT", { available: "no" }),
  );
  assert.equal(badAvail.status, 422);
  await badAvail.body?.cancel();
  const events = await t.store.listEvents(0);
  assert.equal(events.filter((e) => e.type === "menu.updated").length, 4);
});

test("inventory: create, delta, quantity, below zero 409, low threshold event", async (t) => {
  const res = await t.app.request(
    "/inventory",
    jsonReq("POST", {
      name: "Flour",
      quantity: 10,
      unit: "kg",
      low_threshold: 3,
    }),
  );
  assert.equal(res.status, 201);
  const flour = await res.json();
  assert.equal(flour.low, false);
  const dup = await t.app.request(
    "/inventory",
    jsonReq("POST", { name: "flour", quantity: 1 }),
  );
  assert.equal(dup.status, 409);
  await dup.body?.cancel();
  const down = await t.app.request(
    `/inventory/${flour.id}`,
    jsonReq("PATCH", { delta: -7 }),
  );
  const after = await down.json();
  assert.deepEqual([after.quantity, after.low], [3, true]);
  const tooMuch = await t.app.request(
    `/inventory/${flour.id}`,
    jsonReq("PATCH", { delta: -4 }),
  );
  assert.equal(tooMuch.status, 409);
  assert.equal((await tooMuch.json()).error.code, "insufficient_inventory");
  const set = await t.app.request(
    `/inventory/${flour.id}`,
    jsonReq("PATCH", { quantity: 50 }),
  );
  assert.equal((await set.json()).quantity, 50);
  const both = await t.app.request(
    `/inventory/${flour.id}`,
    jsonReq("PATCH", { quantity: 5, delta: 1 }),
  );
  assert.equal(both.status, 422);
  await both.body?.cancel();
  const missing = await t.app.request(
    "/inventory/999",
    jsonReq("PATCH", { delta: 1 }),
  );
  assert.equal(missing.status, 404);
  await missing.body?.cancel();
  const list = await (await t.app.request("/inventory")).json();
  assert.deepEqual(list.map((i: { quantity: number }) => i.quantity), [50]);
  const lows = (await t.store.listEvents(0)).filter((e) =>
    e.type === "inventory.low"
  );
  assert.equal(
    lows.length,
    1,
    "inventory.low fires once, when the threshold is crossed",
  );
});

test("200 concurrent inventory deltas are all applied exactly once", async (t) => {
  const item = await t.store.createInventoryItem({
    name: "Eggs",
    quantity: 100,
    unit: "pcs",
    lowThreshold: null,
  });
  const results = await Promise.all(
    Array.from(
      { length: 200 },
      async (_, i) => {
        const r = await t.app.request(
          `/inventory/${item.id}`,
          jsonReq("PATCH", { delta: i % 2 ? -1 : 2 }),
        );
        await r.body?.cancel();
        return r.status;
      },
    ),
  );
  assert.ok(results.every((s) => s === 200));
  const [eggs] = await t.store.listInventory();
  assert.equal(eggs?.quantity, 100 + 100 * 2 - 100);
});
