/** The Bistro92 table-order API: POST /api/order, GET /api/orders, WS /ws/orders. */
import assert from "node:assert/strict";
import { feedOf } from "../kitchen/feed.ts";
import {
  addItem,
  jsonReq,
  testEachBackend as test,
  withServer,
} from "./_helpers.ts";

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

test("POST /api/order answers 201 {id, table, items, created_at}; names link to the menu case-insensitively", async (t) => {
  await addItem(t.store, { name: "Burger", priceCents: 950 });
  const res = await t.app.request(
    "/api/order",
    jsonReq("POST", {
      table: "Table 1",
      items: [{ name: "burger", quantity: 3 }, {
        name: "Ice Cream",
        quantity: 1,
      }],
    }),
  );
  assert.equal(res.status, 201);
  const body = await res.json();
  assert.deepEqual(Object.keys(body).sort(), [
    "created_at",
    "id",
    "items",
    "table",
  ]);
  assert.equal(body.table, "Table 1");
  assert.deepEqual(body.items, [{ name: "Burger", quantity: 3 }, {
    name: "Ice Cream",
    quantity: 1,
  }]);
  assert.match(body.created_at, ISO);
  // An ordinary order: priced where linked, unpriced otherwise, and the kitchen sees it.
  const order = await t.store.getOrder(body.id);
  assert.equal(order?.source, "table");
  assert.equal(order?.totalCents, 2850);
  assert.deepEqual(order?.items.map((l) => l.unitPriceCents), [950, null]);
  const kitchen = await (await t.app.request("/kitchen/orders")).json();
  assert.deepEqual(kitchen.map((o: { id: number }) => o.id), [body.id]);
});

test("POST /api/order accepts a numeric table and answers it as text", async (t) => {
  const res = await t.app.request(
    "/api/order",
    jsonReq("POST", { table: 7, items: [{ name: "Soup", quantity: 1 }] }),
  );
  assert.equal(res.status, 201);
  assert.equal((await res.json()).table, "7");
});

test("POST /api/order validation failures answer 422 {detail:[{loc,msg,type}]}", async (t) => {
  const cases: [unknown, (string | number)[]][] = [
    [{ items: [{ name: "A", quantity: 1 }] }, ["body", "table"]],
    [{ table: "T", items: [] }, ["body", "items"]],
    [{ table: "T" }, ["body", "items"]],
    [{ table: "T", items: [{ name: "A", quantity: 0 }] }, [
      "body",
      "items",
      0,
      "quantity",
    ]],
    [{ table: "T", items: [{ name: "A", quantity: -2 }] }, [
      "body",
      "items",
      0,
      "quantity",
    ]],
    [{ table: "T", items: [{ name: "A", quantity: 1.5 }] }, [
      "body",
      "items",
      0,
      "quantity",
    ]],
    [{ table: "T", items: [{ name: "", quantity: 1 }] }, [
      "body",
      "items",
      0,
      "name",
    ]],
    [{ table: "", items: [{ name: "A", quantity: 1 }] }, ["body", "table"]],
    [[1, 2], ["body"]],
  ];
  for (const [body, loc] of cases) {
    const res = await t.app.request("/api/order", jsonReq("POST", body));
    assert.equal(res.status, 422, JSON.stringify(body));
    const { detail } = await res.json();
    assert.ok(Array.isArray(detail) && detail.length > 0);
    assert.deepEqual(detail[0].loc, loc, JSON.stringify(body));
    assert.equal(typeof detail[0].msg, "string");
    assert.equal(typeof detail[0].type, "string");
  }
  const malformed = await t.app.request("/api/order", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: '{"table": "T", ',
  });
  assert.equal(malformed.status, 422);
  assert.equal((await malformed.json()).detail[0].type, "json_invalid");
  const text = await t.app.request("/api/order", {
    method: "POST",
    headers: { "content-type": "text/plain" },
    body: "table=1",
  });
  assert.equal(text.status, 415);
  assert.equal(typeof (await text.json()).detail, "string");
  assert.equal((await t.store.listOrders({ limit: 10 })).length, 0);
  assert.equal(await t.store.lastEventId(), 0, "no event for a rejected order");
});

test("POST /api/order: a sold-out or unavailable linked item is a 409 {detail} naming it", async (t) => {
  await addItem(t.store, { name: "Tiramisu", stock: 1 });
  await addItem(t.store, { name: "Soup", available: false });
  const ok = await t.app.request(
    "/api/order",
    jsonReq("POST", { table: "T", items: [{ name: "Tiramisu", quantity: 1 }] }),
  );
  assert.equal(ok.status, 201);
  await ok.body?.cancel();
  for (const name of ["TIRAMISU", "soup"]) {
    const res = await t.app.request(
      "/api/order",
      jsonReq("POST", { table: "T", items: [{ name, quantity: 1 }] }),
    );
    assert.equal(res.status, 409);
    const { detail } = await res.json();
    assert.equal(typeof detail, "string");
    assert.match(detail.toLowerCase(), new RegExp(name.toLowerCase()));
  }
  assert.equal((await t.store.listOrders({ limit: 10 })).length, 1);
});

test("POST /api/order with an Idempotency-Key: replay answers the same 201, another body 422", async (t) => {
  const body = { table: "T9", items: [{ name: "Fries", quantity: 2 }] };
  const headers = { "Idempotency-Key": "table-9-round-1" };
  const first = await t.app.request(
    "/api/order",
    jsonReq("POST", body, headers),
  );
  const again = await t.app.request(
    "/api/order",
    jsonReq("POST", body, headers),
  );
  assert.equal(first.status, 201);
  assert.equal(again.status, 201);
  assert.equal(again.headers.get("idempotent-replayed"), "true");
  assert.deepEqual(await again.json(), await first.json());
  const other = await t.app.request(
    "/api/order",
    jsonReq("POST", { ...body, table: "T10" }, headers),
  );
  assert.equal(other.status, 422);
  assert.equal(typeof (await other.json()).detail, "string");
  const bad = await t.app.request(
    "/api/order",
    jsonReq("POST", body, { "Idempotency-Key": "" }),
  );
  assert.equal(bad.status, 400);
  await bad.body?.cancel();
  assert.equal((await t.store.listOrders({ limit: 10 })).length, 1);
});

test("GET /api/orders lists every order newest first by id, in the Bistro92 shape", async (t) => {
  const item = await addItem(t.store, { name: "Pasta" });
  const native = await t.app.request(
    "/orders",
    jsonReq("POST", { items: [{ menu_item_id: item, quantity: 1 }] }),
  );
  await native.body?.cancel();
  for (const table of ["A", "B", "C"]) {
    const r = await t.app.request(
      "/api/order",
      jsonReq("POST", { table, items: [{ name: "pasta", quantity: 1 }] }),
    );
    await r.body?.cancel();
  }
  const res = await t.app.request("/api/orders");
  assert.equal(res.status, 200);
  const list = await res.json();
  assert.deepEqual(list.map((o: { id: number }) => o.id), [4, 3, 2, 1]);
  assert.deepEqual(list.map((o: { table: string }) => o.table), [
    "C",
    "B",
    "A",
    "",
  ]);
  assert.deepEqual(list[0].items, [{ name: "Pasta", quantity: 1 }]);
  const page = await t.app.request("/api/orders?limit=2");
  assert.deepEqual(
    (await page.json()).map((o: { id: number }) => o.id),
    [4, 3],
  );
  assert.equal(
    page.headers.get("link"),
    '</api/orders?limit=2&before=3>; rel="next"',
  );
  const bad = await t.app.request("/api/orders?limit=0");
  assert.equal(bad.status, 422);
  assert.ok(Array.isArray((await bad.json()).detail));
});

test("500 concurrent POST /api/order with repeated keys make exactly one order and one event per key", async (t) => {
  await addItem(t.store, { name: "Burger", stock: 10_000 });
  const keys = Array.from({ length: 500 }, (_, i) => `k-${i % 350}`);
  const send = async (key: string) => {
    for (;;) {
      const res = await t.app.request(
        "/api/order",
        jsonReq("POST", {
          table: key,
          items: [{ name: "Burger", quantity: 1 }],
        }, { "Idempotency-Key": key }),
      );
      const body = await res.json();
      if (res.status === 409 && res.headers.get("retry-after")) continue;
      return { status: res.status, body };
    }
  };
  const results = await Promise.all(keys.map(send));
  assert.deepEqual([...new Set(results.map((r) => r.status))], [201]);
  const idsByKey = new Map<string, Set<number>>();
  results.forEach((r, i) => {
    const set = idsByKey.get(keys[i]!) ?? new Set();
    set.add(r.body.id);
    idsByKey.set(keys[i]!, set);
  });
  assert.equal(idsByKey.size, 350);
  assert.ok([...idsByKey.values()].every((s) => s.size === 1));
  const orders = await t.store.listOrders({ limit: 1000 });
  assert.equal(orders.length, 350);
  const events = await t.store.listEvents(0, 5000);
  assert.equal(events.filter((e) => e.type === "order.created").length, 350);
  assert.equal((await t.store.listMenu())[0]!.stock, 10_000 - 350);
  const listed = await (await t.app.request("/api/orders")).json();
  assert.equal(listed.length, 350);
});

/** Collects a WebSocket's JSON messages; `next()` waits for the following one. */
function socketInbox(ws: WebSocket) {
  const messages: { type: string; [k: string]: unknown }[] = [];
  const waiters: (() => void)[] = [];
  ws.onmessage = (e) => {
    messages.push(JSON.parse(e.data));
    waiters.splice(0).forEach((w) => w());
  };
  let read = 0;
  return {
    messages,
    async next(ms = 5000) {
      const end = Date.now() + ms;
      while (read >= messages.length) {
        if (Date.now() > end) throw new Error("no WebSocket message");
        await new Promise<void>((r) => {
          const timer = setTimeout(r, 50);
          waiters.push(() => {
            clearTimeout(timer);
            r();
          });
        });
      }
      return messages[read++]!;
    },
  };
}

async function openSocket(base: string) {
  const ws = new WebSocket(`${base.replace("http", "ws")}/ws/orders`);
  const inbox = socketInbox(ws);
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = reject;
  });
  return { ws, inbox };
}

async function closeSocket(ws: WebSocket) {
  if (ws.readyState === WebSocket.CLOSED) return;
  const closed = new Promise((r) => ws.onclose = r);
  ws.close();
  await closed;
}

test("WS /ws/orders: initial list, new_order from every surface, echo", async (t) => {
  const item = await addItem(t.store, { name: "Burger" });
  const early = await t.app.request(
    "/api/order",
    jsonReq("POST", { table: "T1", items: [{ name: "Burger", quantity: 1 }] }),
  );
  const earlyOrder = await early.json();
  await withServer(t.app.fetch, async (base) => {
    const { ws, inbox } = await openSocket(base);
    try {
      const initial = await inbox.next();
      assert.equal(initial.type, "initial");
      assert.deepEqual(initial.orders, [earlyOrder]);

      ws.send("ping from the dashboard");
      assert.deepEqual(await inbox.next(), {
        type: "echo",
        message: "ping from the dashboard",
      });

      const table = await fetch(`${base}/api/order`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          table: "WS 42",
          items: [{ name: "Burger", quantity: 2 }],
        }),
      });
      const tableOrder = await table.json();
      assert.deepEqual(await inbox.next(), {
        type: "new_order",
        order: tableOrder,
      });

      // An order from the cashier API, and one written by another process on the same database.
      const pos = await fetch(`${base}/orders`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          items: [{ menu_item_id: item, quantity: 1 }],
          table: 3,
        }),
      });
      const posOrder = await pos.json();
      const m1 = await inbox.next();
      assert.equal(m1.type, "new_order");
      assert.deepEqual(m1.order, {
        id: posOrder.id,
        table: "3",
        items: [{ name: "Burger", quantity: 1 }],
        created_at: posOrder.created_at,
      });
      const direct = await t.store.placeOrder({
        items: [{ name: "Lemonade", quantity: 1 }],
        table: "9",
        source: "table",
      });
      const m2 = await inbox.next();
      assert.equal((m2.order as { id: number }).id, direct.orderId);
    } finally {
      await closeSocket(ws);
    }
  });
  assert.equal(feedOf(t.store).subscriberCount, 0, "socket unsubscribed");
});

test("WS /ws/orders: orders placed while connecting appear exactly once across initial and new_order", async (t) => {
  await withServer(t.app.fetch, async (base) => {
    const placing = Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        t.store.placeOrder({
          items: [{ name: `Dish ${i}`, quantity: 1 }],
          source: "table",
        })),
    );
    const sockets = await Promise.all(
      Array.from({ length: 5 }, () => openSocket(base)),
    );
    try {
      const placed = (await placing).map((p) => p.orderId).sort((a, b) =>
        a - b
      );
      for (const { inbox } of sockets) {
        const initial = await inbox.next();
        assert.equal(initial.type, "initial");
        const seen = (initial.orders as { id: number }[]).map((o) => o.id);
        while (seen.length < placed.length) {
          const m = await inbox.next();
          assert.equal(m.type, "new_order");
          seen.push((m.order as { id: number }).id);
        }
        assert.deepEqual(seen.sort((a, b) => a - b), placed);
      }
    } finally {
      for (const { ws } of sockets) await closeSocket(ws);
    }
  });
});

test("GET /ws/orders without an upgrade answers 426", async (t) => {
  const res = await t.app.request("/ws/orders");
  assert.equal(res.status, 426);
  assert.equal(typeof (await res.json()).detail, "string");
});

test("the OpenAPI document describes the Bistro92 routes and their error shape", async (t) => {
  const doc = await (await t.app.request("/openapi.json")).json();
  assert.ok(doc.paths["/api/order"].post.responses["201"]);
  assert.ok(doc.paths["/api/order"].post.responses["422"]);
  assert.ok(doc.paths["/api/orders"].get.responses["200"]);
  assert.ok(doc.paths["/ws/orders"].get);
});
