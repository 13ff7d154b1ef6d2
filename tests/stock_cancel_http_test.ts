/**
 * Cancelling gives back exactly the stock an order took (issue 24, defect 3),
 * over HTTP on every backend: nothing for an item untracked when the order was
 * placed, the quantity of each line of a tracked one, and only once.
 */
import assert from "node:assert/strict";
import { jsonReq, type TestCtx, testEachBackend as test } from "./_helpers.ts";

/** Sends `body` with `method` to `path`; resolves to the status and JSON. */
async function call(
  t: TestCtx,
  method: string,
  path: string,
  body?: unknown,
  // deno-lint-ignore no-explicit-any
): Promise<{ status: number; json: any }> {
  const res = await t.app.request(path, jsonReq(method, body));
  return { status: res.status, json: await res.json() };
}

async function stockOf(t: TestCtx, id: number) {
  const { json } = await call(t, "GET", `/menu/${id}`);
  return { stock: json.stock, available: json.available };
}

test("cancelling an order of an item untracked when ordered gives nothing back (stock stays 3)", async (t) => {
  const soup = await call(t, "POST", "/menu", {
    name: "Soup of the day",
    price: 5,
  });
  assert.equal(soup.status, 201);
  const order = await call(t, "POST", "/orders", {
    items: [{ menu_item_id: soup.json.id, quantity: 50 }],
  });
  assert.equal(order.status, 200);
  const put = await call(t, "PUT", `/menu/${soup.json.id}`, { stock: 3 });
  assert.equal(put.status, 200);
  assert.equal(put.json.stock, 3);

  const cancel = await call(t, "PATCH", `/orders/${order.json.id}`, {
    status: "cancelled",
  });
  assert.equal(cancel.status, 200);
  assert.equal(cancel.json.status, "cancelled");
  assert.deepEqual(await stockOf(t, soup.json.id), {
    stock: 3,
    available: true,
  });
  // The order as clients see it is unchanged by the new record.
  assert.deepEqual(Object.keys(cancel.json.items[0]).sort(), [
    "id",
    "menu_item_id",
    "name",
    "notes",
    "price",
    "quantity",
  ]);
});

test("cancelling gives back exactly what each line took, once", async (t) => {
  const cake = (await call(t, "POST", "/menu", {
    name: "Cake",
    price: 4,
    stock: 10,
  })).json;
  const tea = (await call(t, "POST", "/menu", { name: "Tea", price: 2 }))
    .json;
  const order = await call(t, "POST", "/orders", {
    items: [
      { menu_item_id: cake.id, quantity: 3 },
      { menu_item_id: tea.id, quantity: 7 },
      { menu_item_id: cake.id, quantity: 2 },
    ],
  });
  assert.equal(order.status, 200);
  assert.equal((await stockOf(t, cake.id)).stock, 5);
  // Tea becomes tracked after the order: the order took none of it.
  await call(t, "PUT", `/menu/${tea.id}`, { stock: 4 });
  // Someone else buys cake meanwhile.
  const other = await call(t, "POST", "/orders", {
    items: [{ menu_item_id: cake.id, quantity: 1 }],
  });
  assert.equal(other.status, 200);

  const cancel = await call(t, "PATCH", `/orders/${order.json.id}`, {
    status: "cancelled",
  });
  assert.equal(cancel.status, 200);
  assert.equal((await stockOf(t, cake.id)).stock, 9);
  assert.equal((await stockOf(t, tea.id)).stock, 4);

  const again = await call(t, "PATCH", `/orders/${order.json.id}`, {
    status: "cancelled",
  });
  assert.equal(again.status, 409);
  assert.equal((await stockOf(t, cake.id)).stock, 9);
  assert.equal((await stockOf(t, tea.id)).stock, 4);
});

test("a table order (by name) sold out gives its stock back and the item comes back on", async (t) => {
  const pie = (await call(t, "POST", "/menu", {
    name: "Pie",
    price: 6,
    stock: 2,
  })).json;
  const placed = await call(t, "POST", "/api/order", {
    table: "T1",
    items: [{ name: "pie", quantity: 2 }, { name: "Water", quantity: 1 }],
  });
  assert.equal(placed.status, 201);
  assert.deepEqual(await stockOf(t, pie.id), { stock: 0, available: false });
  const cancel = await call(t, "PATCH", `/orders/${placed.json.id}`, {
    status: "cancelled",
  });
  assert.equal(cancel.status, 200);
  assert.deepEqual(await stockOf(t, pie.id), { stock: 2, available: true });
});

test("an item untracked since the order was placed gets nothing back", async (t) => {
  const bread = (await call(t, "POST", "/menu", {
    name: "Bread",
    price: 1,
    stock: 5,
  })).json;
  const order = await call(t, "POST", "/orders", {
    items: [{ menu_item_id: bread.id, quantity: 2 }],
  });
  assert.equal(order.status, 200);
  await call(t, "PUT", `/menu/${bread.id}`, { stock: null });
  const cancel = await call(t, "PATCH", `/orders/${order.json.id}`, {
    status: "cancelled",
  });
  assert.equal(cancel.status, 200);
  assert.equal((await stockOf(t, bread.id)).stock, null);
});
