/**
 * Issue 24, defect 2: names are Unicode. A table order names a dish however
 * it is cased or normalised and gets that dish (priced, stock taken, refused
 * when sold out); a second item whose name differs only so is a duplicate.
 */
import assert from "node:assert/strict";
import { jsonReq, type TestCtx, testEachBackend as test } from "./_helpers.ts";

async function call(t: TestCtx, method: string, path: string, body?: unknown) {
  const res = await t.app.request(path, jsonReq(method, body));
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : null };
}

/** Places a one-line table order; returns the status and the stored order. */
async function tableOrder(t: TestCtx, name: string, quantity: number) {
  const res = await call(t, "POST", "/api/order", {
    table: "T1",
    items: [{ name, quantity }],
  });
  const order = res.status === 201
    ? (await call(t, "GET", `/orders/${res.json.id}`)).json
    : null;
  return { ...res, order };
}

async function stockOf(t: TestCtx, id: number) {
  return (await call(t, "GET", `/menu/${id}`)).json.stock;
}

test("the issue's reproduction: an 'Éclair' table order is linked, priced, takes stock and is refused when sold out", async (t) => {
  const menu = await call(t, "POST", "/menu", {
    name: "Éclair",
    price: 4,
    stock: 2,
  });
  assert.equal(menu.status, 201);
  const id = menu.json.id;

  const tooMany = await tableOrder(t, "Éclair", 5);
  assert.equal(tooMany.status, 409);
  assert.match(tooMany.json.detail, /Éclair/);
  assert.equal(await stockOf(t, id), 2);

  const one = await tableOrder(t, "Éclair", 1);
  assert.equal(one.status, 201);
  assert.deepEqual(one.json.items, [{ name: "Éclair", quantity: 1 }]);
  assert.equal(one.order.items[0].menu_item_id, id);
  assert.equal(one.order.items[0].price, 4);
  assert.equal(one.order.total, 4);
  assert.equal(await stockOf(t, id), 1);

  // Cased or normalised otherwise, it is still the same dish.
  const nfd = await tableOrder(t, "E\u0301CLAIR", 1);
  assert.equal(nfd.status, 201);
  assert.equal(nfd.order.items[0].menu_item_id, id);
  assert.equal(nfd.order.total, 4);
  const after = (await call(t, "GET", `/menu/${id}`)).json;
  assert.deepEqual([after.stock, after.available], [0, false]);

  const soldOut = await tableOrder(t, "éclair", 1);
  assert.equal(soldOut.status, 409);
  assert.match(soldOut.json.detail, /Éclair/);
});

test("a table order for an accented dish switched off by hand is refused with 409", async (t) => {
  const { json: item } = await call(t, "POST", "/menu", {
    name: "Éclair",
    price: 4,
    stock: 2,
  });
  const off = await call(t, "PUT", `/menu/${item.id}`, {
    stock: 0,
    available: false,
  });
  assert.equal(off.status, 200);
  for (const name of ["Éclair", "ÉCLAIR", "e\u0301clair"]) {
    const res = await tableOrder(t, name, 5);
    assert.equal(res.status, 409, name);
  }
  assert.equal((await call(t, "GET", "/api/orders")).json.length, 0);
  assert.equal(await stockOf(t, item.id), 0);
});

test("Barcelona, Istanbul and Berlin names link whatever their case", async (t) => {
  const dishes: [string, string][] = [
    ["Crème brûlée", "CRÈME BRÛLÉE"],
    ["Ñoquis", "ñoquis"],
    ["Çay", "ÇAY"],
    ["Sıcak çorba", "SICAK ÇORBA"],
    ["İskender", "iskender"],
    ["Weißwurst", "WEISSWURST"],
    ["Pho 🍜", "PHO 🍜"],
  ];
  for (const [name, typed] of dishes) {
    const { json: item } = await call(t, "POST", "/menu", {
      name,
      price: 3,
      stock: 10,
    });
    const res = await tableOrder(t, typed, 2);
    assert.equal(res.status, 201, typed);
    assert.equal(res.order.items[0].menu_item_id, item.id, typed);
    assert.equal(res.order.total, 6, typed);
    assert.equal(await stockOf(t, item.id), 8, typed);
  }
});

test("a menu name differing only in case, accents' encoding or Turkish i is a duplicate (409)", async (t) => {
  const pairs: [string, string][] = [
    ["Éclair", "éclair"],
    ["Crème brûlée", "Cre\u0300me bru\u0302le\u0301e"],
    ["Sıcak", "SICAK"],
    ["istanbul", "İSTANBUL"],
    ["Straße", "STRASSE"],
  ];
  for (const [first, second] of pairs) {
    assert.equal(
      (await call(t, "POST", "/menu", { name: first, price: 1 }))
        .status,
      201,
      first,
    );
    const dup = await call(t, "POST", "/menu", { name: second, price: 1 });
    assert.equal(dup.status, 409, second);
    assert.equal(dup.json.error.code, "duplicate_name");
  }
  const { json: other } = await call(t, "POST", "/menu", {
    name: "Tart",
    price: 1,
  });
  const rename = await call(t, "PUT", `/menu/${other.id}`, { name: "ÉCLAIR" });
  assert.equal(rename.status, 409);
  // Renaming an item to another casing of its own name is no duplicate.
  const own = await call(t, "PUT", `/menu/${other.id}`, { name: "TART" });
  assert.equal(own.status, 200);
  assert.equal((await call(t, "GET", "/menu")).json.length, pairs.length + 1);
});

test("inventory and vending product names are unique by the same key", async (t) => {
  const inv = { quantity: 1, unit: "kg" };
  assert.equal(
    (await call(t, "POST", "/inventory", { name: "Crème fraîche", ...inv }))
      .status,
    201,
  );
  const dupInv = await call(t, "POST", "/inventory", {
    name: "CRE\u0300ME FRAI\u0302CHE",
    ...inv,
  });
  assert.equal(dupInv.status, 409);
  assert.equal(dupInv.json.error.code, "duplicate_name");

  const made = await call(t, "POST", "/api/products", {
    name: "Çay",
    stock: 1,
  });
  assert.equal(made.status, 201);
  const dupProduct = await call(t, "POST", "/api/products", {
    name: "C\u0327AY",
    stock: 1,
  });
  assert.equal(dupProduct.status, 400);
  assert.deepEqual(dupProduct.json, {
    error: "The name has already been taken.",
  });
  assert.equal((await call(t, "GET", "/api/products")).json.length, 1);
});
