/** `/orders` and `/kitchen/orders` over HTTP: happy paths and every documented error. */
import assert from "node:assert/strict";
import { addItem, jsonReq, testEachBackend as test } from "./_helpers.ts";

test("POST /orders prices from the menu and answers 200 with the order", async (t) => {
  const a = await addItem(t.store, { name: "Pizza", priceCents: 1250 });
  const b = await addItem(t.store, {
    name: "Salad",
    priceCents: 875,
    stock: 5,
  });
  const res = await t.app.request(
    "/orders",
    jsonReq("POST", {
      items: [{ menu_item_id: a, quantity: 2, notes: "extra basil" }, {
        menu_item_id: b,
        quantity: 1,
      }],
      customer_name: "Ana",
      table: 12,
      notes: "window",
    }),
  );
  assert.equal(res.status, 200);
  assert.ok(res.headers.get("x-request-id"));
  const order = await res.json();
  assert.equal(order.total, 33.75);
  assert.equal(order.status, "pending");
  assert.equal(order.version, 1);
  assert.equal(order.table, "12");
  assert.equal(order.customer_name, "Ana");
  assert.deepEqual(order.items.map((l: { price: number }) => l.price), [
    12.5,
    8.75,
  ]);
  assert.equal(order.items[0].notes, "extra basil");
  assert.match(order.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.equal((await t.store.getMenuItem(b))?.stock, 4);
});

test("POST /orders ignores nothing: a client price is an unknown field (422)", async (t) => {
  const a = await addItem(t.store);
  const res = await t.app.request(
    "/orders",
    jsonReq("POST", {
      items: [{ menu_item_id: a, quantity: 1, price: 0.01 }],
    }),
  );
  assert.equal(res.status, 422);
  assert.equal((await res.json()).error.code, "validation_failed");
});

test("POST /orders: a body that is not UTF-8 is a 400; the next body decodes whole", async (t) => {
  const a = await addItem(t.store);
  const enc = new TextEncoder();
  const head = enc.encode(
    `{"items":[{"menu_item_id":${a},"quantity":1}],"notes":"`,
  );
  // Half of a two-byte character, then the end of the string.
  const broken = new Uint8Array([...head, 0xc3, ...enc.encode('"}')]);
  const bad = await t.app.request("/orders", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: broken,
  });
  assert.equal(bad.status, 400);
  assert.equal((await bad.json()).error.code, "invalid_utf8");
  const good = await t.app.request(
    "/orders",
    jsonReq("POST", {
      items: [{ menu_item_id: a, quantity: 1 }],
      notes: "crème brûlée, 2× 🍰",
    }),
  );
  assert.equal(good.status, 200);
  assert.equal((await good.json()).notes, "crème brûlée, 2× 🍰");
  assert.equal((await t.store.listOrders({ limit: 10 })).length, 1);
});

test("POST /orders: unknown item 422, unavailable 409, sold out 409 naming the item", async (t) => {
  const off = await addItem(t.store, { name: "Soup", available: false });
  const few = await addItem(t.store, { name: "Tiramisu", stock: 1 });
  const unknown = await t.app.request(
    "/orders",
    jsonReq("POST", { items: [{ menu_item_id: 999, quantity: 1 }] }),
  );
  assert.equal(unknown.status, 422);
  assert.equal((await unknown.json()).error.code, "unknown_menu_item");
  const unavailable = await t.app.request(
    "/orders",
    jsonReq("POST", { items: [{ menu_item_id: off, quantity: 1 }] }),
  );
  assert.equal(unavailable.status, 409);
  assert.match(
    (await unavailable.json()).error.message,
    /"Soup" is not available/,
  );
  const tooMany = await t.app.request(
    "/orders",
    jsonReq("POST", { items: [{ menu_item_id: few, quantity: 2 }] }),
  );
  assert.equal(tooMany.status, 409);
  const body = await tooMany.json();
  assert.equal(body.error.code, "out_of_stock");
  assert.equal(body.error.details.available, 1);
  assert.match(body.error.message, /"Tiramisu"/);
});

test("stock reaching 0 marks the item unavailable; cancelling restores it", async (t) => {
  const id = await addItem(t.store, { name: "Sea bass", stock: 2 });
  const res = await t.app.request(
    "/orders",
    jsonReq("POST", { items: [{ menu_item_id: id, quantity: 2 }] }),
  );
  const order = await res.json();
  let item = await t.store.getMenuItem(id);
  assert.deepEqual([item?.stock, item?.available], [0, false]);
  const events = await t.store.listEvents(0);
  assert.ok(
    events.some((e) =>
      e.type === "menu.updated" && (e.data as { stock: number }).stock === 0
    ),
  );
  const cancel = await t.app.request(
    `/orders/${order.id}`,
    jsonReq("PATCH", { status: "cancelled" }),
  );
  assert.equal(cancel.status, 200);
  assert.equal((await cancel.json()).status, "cancelled");
  item = await t.store.getMenuItem(id);
  assert.deepEqual([item?.stock, item?.available], [2, true]);
});

test("PATCH /orders/{id} walks the lifecycle with versions and ETags", async (t) => {
  const id = (await t.store.placeOrder({
    items: [{ menuItemId: await addItem(t.store), quantity: 1 }],
  }))
    .orderId;
  let version = 1;
  for (
    const status of [
      "in_progress",
      "ready",
      "in_progress",
      "ready",
      "completed",
    ]
  ) {
    const res = await t.app.request(
      `/orders/${id}`,
      jsonReq("PATCH", { status }, { "If-Match": `"${version}"` }),
    );
    assert.equal(res.status, 200, status);
    const o = await res.json();
    assert.equal(o.status, status);
    assert.equal(o.version, ++version);
    assert.equal(res.headers.get("etag"), `"${version}"`);
  }
  const stale = await t.app.request(
    `/orders/${id}`,
    jsonReq("PATCH", { status: "cancelled" }, { "If-Match": '"1"' }),
  );
  assert.equal(stale.status, 412);
  assert.equal((await stale.json()).error.details.current_version, version);
  const illegal = await t.app.request(
    `/orders/${id}`,
    jsonReq("PATCH", { status: "cancelled" }),
  );
  assert.equal(illegal.status, 409);
  await illegal.body?.cancel();
  const badMatch = await t.app.request(
    `/orders/${id}`,
    jsonReq("PATCH", { status: "ready" }, { "If-Match": "soon" }),
  );
  assert.equal(badMatch.status, 400);
  await badMatch.body?.cancel();
  const missing = await t.app.request(
    "/orders/999999",
    jsonReq("PATCH", { status: "ready" }),
  );
  assert.equal(missing.status, 404);
  await missing.body?.cancel();
});

test("GET /orders filters by status and pages newest first with Link", async (t) => {
  const item = await addItem(t.store);
  const ids: number[] = [];
  for (let i = 0; i < 7; i++) {
    ids.push(
      (await t.store.placeOrder({
        items: [{ menuItemId: item, quantity: 1 }],
      })).orderId,
    );
  }
  await t.store.setOrderStatus(ids[0]!, "in_progress");
  const seen: number[] = [];
  let url: string | null = "/orders?limit=3";
  while (url) {
    const res: Response = await t.app.request(url);
    assert.equal(res.status, 200);
    seen.push(...(await res.json()).map((o: { id: number }) => o.id));
    url = /<([^>]+)>; rel="next"/.exec(res.headers.get("link") ?? "")?.[1] ??
      null;
  }
  assert.deepEqual(seen, [...ids].reverse());
  const active = await t.app.request("/orders?status=in_progress");
  assert.deepEqual((await active.json()).map((o: { id: number }) => o.id), [
    ids[0],
  ]);
  const bad = await t.app.request("/orders?status=eaten");
  assert.equal(bad.status, 422);
  await bad.body?.cancel();
  const badLimit = await t.app.request("/orders?limit=5000");
  assert.equal(badLimit.status, 422);
  await badLimit.body?.cancel();
});

test("GET /orders/{id}: 200, 404, and 422 for a non-numeric id", async (t) => {
  const id = (await t.store.placeOrder({
    items: [{ menuItemId: await addItem(t.store), quantity: 1 }],
  }))
    .orderId;
  const ok = await t.app.request(`/orders/${id}`);
  assert.equal(ok.status, 200);
  assert.equal((await ok.json()).id, id);
  const missing = await t.app.request("/orders/424242");
  assert.equal(missing.status, 404);
  assert.equal((await missing.json()).error.code, "order_not_found");
  const bad = await t.app.request("/orders/abc");
  assert.equal(bad.status, 422);
  await bad.body?.cancel();
});

test("GET /kitchen/orders lists active orders oldest first", async (t) => {
  const item = await addItem(t.store);
  const ids: number[] = [];
  for (let i = 0; i < 4; i++) {
    ids.push(
      (await t.store.placeOrder({
        items: [{ menuItemId: item, quantity: 1 }],
      })).orderId,
    );
  }
  await t.store.setOrderStatus(ids[1]!, "cancelled");
  await t.store.setOrderStatus(ids[2]!, "in_progress");
  const res = await t.app.request("/kitchen/orders");
  assert.deepEqual((await res.json()).map((o: { id: number }) => o.id), [
    ids[0],
    ids[2],
    ids[3],
  ]);
});

test("Idempotency-Key: replay, different body 422, malformed key 400", async (t) => {
  const item = await addItem(t.store, { stock: 10 });
  const body = { items: [{ menu_item_id: item, quantity: 1 }] };
  const first = await t.app.request(
    "/orders",
    jsonReq("POST", body, { "Idempotency-Key": "abc" }),
  );
  const again = await t.app.request(
    "/orders",
    jsonReq("POST", { ...body }, { "Idempotency-Key": '"abc"' }),
  );
  assert.equal(first.status, 200);
  assert.equal(again.status, 200);
  assert.equal(again.headers.get("idempotent-replayed"), "true");
  assert.equal(first.headers.get("idempotent-replayed"), null);
  assert.deepEqual(await again.json(), await first.json());
  const reused = await t.app.request(
    "/orders",
    jsonReq("POST", { items: [{ menu_item_id: item, quantity: 2 }] }, {
      "Idempotency-Key": "abc",
    }),
  );
  assert.equal(reused.status, 422);
  assert.equal((await reused.json()).error.code, "idempotency_key_reused");
  const bad = await t.app.request(
    "/orders",
    jsonReq("POST", body, { "Idempotency-Key": "a b" }),
  );
  assert.equal(bad.status, 400);
  await bad.body?.cancel();
  assert.equal((await t.store.getMenuItem(item))?.stock, 9);
  assert.equal((await t.store.listOrders({ limit: 10 })).length, 1);
});

test("expired idempotency keys are purged and then count as new", async (t) => {
  const item = await addItem(t.store);
  const body = { items: [{ menu_item_id: item, quantity: 1 }] };
  const first = await t.app.request(
    "/orders",
    jsonReq("POST", body, { "Idempotency-Key": "old" }),
  );
  await first.body?.cancel();
  assert.equal(await t.store.purgeIdempotencyKeys(60_000), 0);
  await new Promise((r) => setTimeout(r, 5));
  assert.equal(await t.store.purgeIdempotencyKeys(1), 1);
  const after = await t.app.request(
    "/orders",
    jsonReq("POST", body, { "Idempotency-Key": "old" }),
  );
  assert.equal(after.headers.get("idempotent-replayed"), null);
  await after.body?.cancel();
  assert.equal((await t.store.listOrders({ limit: 10 })).length, 2);
});
