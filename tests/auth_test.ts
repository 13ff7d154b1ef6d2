import assert from "node:assert/strict";
import { createApp } from "../app.ts";
import {
  bearerToken,
  digestsEqual,
  requiredRole,
  type Role,
} from "../routes/_auth.ts";
import { addItem, jsonReq, openTempLibsql, testConfig } from "./_helpers.ts";

const ADMIN = "admin-3f9c2a7e51";
const STAFF = "staff-8d1e6b0c44";
const open = { protectReads: false, protectOrdering: false };

Deno.test("requiredRole() follows the policy table", () => {
  const cases: [string, string, Role | null][] = [
    ["GET", "/", null],
    ["GET", "/kitchen/display", null],
    ["GET", "/kitchen/events", null],
    ["GET", "/menu", null],
    ["GET", "/api/vending-machines/3", null],
    ["POST", "/orders", null],
    ["POST", "/api/order", null],
    ["POST", "/api/orchestrator/start-work", null],
    ["POST", "/api/orchestrator/choose-product", null],
    ["PATCH", "/orders/12", "staff"],
    ["POST", "/menu", "admin"],
    ["PUT", "/menu/4", "admin"],
    ["PUT", "/menu/4/availability", "admin"],
    ["POST", "/inventory", "admin"],
    ["PATCH", "/inventory/2", "admin"],
    ["POST", "/api/vending-machines", "admin"],
    ["PUT", "/api/vending-machines/1", "admin"],
    ["DELETE", "/api/vending-machines/1", "admin"],
    ["POST", "/api/vending-machines/1/reset", "admin"],
    ["POST", "/api/products", "admin"],
    ["PATCH", "/api/products/7/stock", "admin"],
    ["DELETE", "/api/products/7", "admin"],
    // Not listed anywhere: a write is admin-only by default.
    ["POST", "/some/future/route", "admin"],
    ["DELETE", "/orders/12", "admin"],
    ["POST", "/orders/", "admin"],
  ];
  for (const [method, path, role] of cases) {
    assert.equal(requiredRole(method, path, open), role, `${method} ${path}`);
  }
  const locked = { protectReads: true, protectOrdering: true };
  assert.equal(requiredRole("GET", "/menu", locked), "staff");
  assert.equal(requiredRole("GET", "/kitchen/events", locked), "staff");
  assert.equal(requiredRole("POST", "/orders", locked), "staff");
  assert.equal(requiredRole("POST", "/api/order", locked), "staff");
  for (const page of ["/", "/kitchen/display", "/health", "/docs"]) {
    assert.equal(requiredRole("GET", page, locked), null, page);
  }
  assert.equal(requiredRole("GET", "/static/docs.js", locked), null);
  assert.equal(requiredRole("GET", "/kitchen/kitchen.css", locked), null);
  assert.equal(requiredRole("POST", "/menu", locked), "admin");
});

Deno.test("bearerToken() and digestsEqual() parse and compare exactly", () => {
  assert.equal(bearerToken("Bearer abc.def"), "abc.def");
  assert.equal(bearerToken("bearer   abc "), "abc");
  assert.equal(bearerToken("Basic abc"), null);
  assert.equal(bearerToken("Bearer"), null);
  assert.equal(bearerToken("Bearer a b"), null);
  assert.equal(bearerToken(undefined), null);
  const a = new Uint8Array([1, 2, 3]);
  assert.equal(digestsEqual(a, new Uint8Array([1, 2, 3])), true);
  assert.equal(digestsEqual(a, new Uint8Array([1, 2, 4])), false);
  assert.equal(digestsEqual(a, new Uint8Array([1, 2])), false);
});

async function authedApp(over: Parameters<typeof testConfig>[0] = {}) {
  const db = await openTempLibsql();
  const lines: string[] = [];
  const config = testConfig({ adminToken: ADMIN, staffToken: STAFF, ...over });
  const app = createApp({
    config,
    store: db.store,
    log: { write: (l) => lines.push(l) },
  });
  return { ...db, app, lines };
}

const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

Deno.test("roles: admin writes, staff moves tickets, ordering stays open", async (t) => {
  const { app, store, cleanup, lines } = await authedApp();
  try {
    const item = await addItem(store);
    await t.step(
      "a write without a token is 401 with WWW-Authenticate",
      async () => {
        const res = await app.request(
          "/menu",
          jsonReq("POST", { name: "Soup", price: 4 }),
        );
        assert.equal(res.status, 401);
        assert.match(res.headers.get("www-authenticate")!, /^Bearer /);
        const body = await res.json();
        assert.equal(body.error.code, "unauthorized");
      },
    );
    await t.step("a wrong token is 401 invalid_token", async () => {
      const res = await app.request(
        "/menu",
        jsonReq("POST", { name: "Soup", price: 4 }, bearer("nope")),
      );
      assert.equal(res.status, 401);
      assert.match(res.headers.get("www-authenticate")!, /invalid_token/);
      assert.equal((await res.json()).error.code, "unauthorized");
    });
    await t.step("staff on an admin route is 403", async () => {
      const res = await app.request(
        "/menu",
        jsonReq("POST", { name: "Soup", price: 4 }, bearer(STAFF)),
      );
      assert.equal(res.status, 403);
      assert.equal((await res.json()).error.code, "forbidden");
      assert.equal((await store.listMenu()).length, 1);
    });
    await t.step("admin creates", async () => {
      const res = await app.request(
        "/menu",
        jsonReq("POST", { name: "Soup", price: 4 }, bearer(ADMIN)),
      );
      assert.equal(res.status, 201);
      await res.body?.cancel();
    });
    let orderId = 0;
    await t.step("anyone places an order and reads the menu", async () => {
      const res = await app.request(
        "/orders",
        jsonReq("POST", { items: [{ menu_item_id: item, quantity: 1 }] }),
      );
      assert.equal(res.status, 200);
      orderId = (await res.json()).id;
      const menu = await app.request("/menu");
      assert.equal(menu.status, 200);
      await menu.body?.cancel();
    });
    await t.step("PATCH /orders/{id} needs staff or admin", async () => {
      const none = await app.request(
        `/orders/${orderId}`,
        jsonReq("PATCH", { status: "in_progress" }),
      );
      assert.equal(none.status, 401);
      await none.body?.cancel();
      const staff = await app.request(
        `/orders/${orderId}`,
        jsonReq("PATCH", { status: "in_progress" }, bearer(STAFF)),
      );
      assert.equal(staff.status, 200);
      await staff.body?.cancel();
      const admin = await app.request(
        `/orders/${orderId}`,
        jsonReq("PATCH", { status: "ready" }, bearer(ADMIN)),
      );
      assert.equal(admin.status, 200);
      await admin.body?.cancel();
    });
    await t.step(
      "an unknown write route is closed before it is routed",
      async () => {
        const res = await app.request(
          "/api/vending-machines",
          jsonReq("POST", {}),
        );
        assert.equal(res.status, 401);
        await res.body?.cancel();
      },
    );
    await t.step("no log line holds a token", () => {
      assert.ok(lines.length >= 8);
      for (const l of lines) {
        assert.equal(l.includes(ADMIN), false);
        assert.equal(l.includes(STAFF), false);
        assert.equal(l.includes("nope"), false);
      }
    });
  } finally {
    await cleanup();
  }
});

Deno.test("roles: PROTECT_READS and PROTECT_ORDERING close reads and ordering to staff", async () => {
  const { app, store, cleanup } = await authedApp({
    protectReads: true,
    protectOrdering: true,
  });
  try {
    const item = await addItem(store);
    const menu = await app.request("/menu");
    assert.equal(menu.status, 401);
    await menu.body?.cancel();
    const staffMenu = await app.request("/menu", { headers: bearer(STAFF) });
    assert.equal(staffMenu.status, 200);
    await staffMenu.body?.cancel();
    const order = { items: [{ menu_item_id: item, quantity: 1 }] };
    const anon = await app.request("/orders", jsonReq("POST", order));
    assert.equal(anon.status, 401);
    await anon.body?.cancel();
    const staff = await app.request(
      "/orders",
      jsonReq("POST", order, bearer(STAFF)),
    );
    assert.equal(staff.status, 200);
    await staff.body?.cancel();
    for (const page of ["/health", "/docs", "/static/docs.js"]) {
      const res = await app.request(page);
      assert.equal(res.status, 200, page);
      await res.body?.cancel();
    }
  } finally {
    await cleanup();
  }
});

Deno.test("roles: without tokens every route is open", async () => {
  const db = await openTempLibsql();
  try {
    const app = createApp({ config: testConfig(), store: db.store });
    const res = await app.request(
      "/menu",
      jsonReq("POST", { name: "Soup", price: 4 }),
    );
    assert.equal(res.status, 201);
    await res.body?.cancel();
  } finally {
    await db.cleanup();
  }
});

Deno.test("roles: the stream cookie works on stream GETs only, never for writes", async () => {
  const stop = new AbortController();
  const db = await openTempLibsql();
  const app = createApp({
    config: testConfig({
      adminToken: ADMIN,
      staffToken: STAFF,
      protectReads: true,
    }),
    store: db.store,
    shutdown: stop.signal,
  });
  try {
    const cookie = {
      cookie: `other=1; forkflow_token=${encodeURIComponent(STAFF)}`,
    };
    const events = await app.request("/kitchen/events", { headers: cookie });
    assert.equal(events.status, 200);
    assert.match(events.headers.get("content-type")!, /event-stream/);
    await events.body?.cancel();
    const noCookie = await app.request("/kitchen/events");
    assert.equal(noCookie.status, 401);
    await noCookie.body?.cancel();
    const menu = await app.request("/menu", { headers: cookie });
    assert.equal(menu.status, 401, "not a stream path");
    await menu.body?.cancel();
    const adminCookie = { cookie: `forkflow_token=${ADMIN}` };
    const write = await app.request(
      "/menu",
      jsonReq("POST", { name: "Soup", price: 4 }, adminCookie),
    );
    assert.equal(write.status, 401, "a cookie never authorises a write");
    await write.body?.cancel();
  } finally {
    stop.abort();
    await db.cleanup();
  }
});
