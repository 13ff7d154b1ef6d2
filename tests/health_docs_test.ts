/** `/health`, `/openapi.json`, `/docs`, request ids and the demo menu. */
import assert from "node:assert/strict";
import { seedDemo, seedIfEmpty } from "../db/seed.ts";
import { jsonReq, testEachBackend as test } from "./_helpers.ts";

test("GET /health reports the backend, latency and version", async (t) => {
  const res = await t.app.request("/health");
  assert.equal(res.status, 200);
  const body = await res.json();
  assert.equal(body.status, "ok");
  assert.equal(body.backend, t.store.backend);
  assert.equal(typeof body.db_latency_ms, "number");
  assert.match(body.version, /^\d+\.\d+\.\d+$/);
});

test("GET /health answers 503 when the database is gone", async (t) => {
  const reopenable = t.store;
  await reopenable.close();
  const res = await t.app.request("/health");
  assert.equal(res.status, 503);
  assert.equal((await res.json()).status, "unavailable");
  // cleanup closes again; stores must tolerate a second close
  t.store.close = () => Promise.resolve();
});

test("/openapi.json documents every native route from the zod schemas", async (t) => {
  const doc = await (await t.app.request("/openapi.json")).json();
  assert.equal(doc.openapi, "3.1.0");
  for (
    const [path, method] of [
      ["/health", "get"],
      ["/menu", "post"],
      ["/menu/{id}/availability", "put"],
      ["/orders", "post"],
      ["/orders/{id}", "patch"],
      ["/kitchen/orders", "get"],
      ["/inventory/{id}", "patch"],
    ]
  ) {
    assert.ok(doc.paths[path!]?.[method!], `${method} ${path}`);
  }
  const order = doc.paths["/orders"].post;
  const ref = order.requestBody.content["application/json"].schema.$ref;
  assert.equal(ref, "#/components/schemas/NewOrder");
  const schema = doc.components.schemas.NewOrder;
  assert.deepEqual(schema.required, ["items"]);
  assert.equal(schema.properties.items.items.properties.quantity.maximum, 100);
  assert.ok(
    order.parameters.some((p: { name: string }) =>
      p.name === "Idempotency-Key"
    ),
  );
});

test("/openapi.json says which routes take a bearer token, from the rules the server enforces", async (t) => {
  const doc = await (await t.app.request("/openapi.json")).json();
  assert.equal(doc.components.securitySchemes.bearer.scheme, "bearer");
  const health = doc.paths["/health"].get;
  assert.deepEqual(health.security, []);
  assert.equal(health.responses["401"], undefined);
  // Ordering needs a token only with PROTECT_ORDERING: optional.
  const order = doc.paths["/orders"].post;
  assert.deepEqual(order.security, [{}, { bearer: [] }]);
  assert.ok(order.responses["401"]);
  assert.equal(order.responses["403"], undefined);
  // Moving tickets: staff; menu writes: admin (403 for the staff token).
  const patch = doc.paths["/orders/{id}"].patch;
  assert.deepEqual(patch.security, [{ bearer: [] }]);
  assert.equal(patch.responses["403"], undefined);
  const menu = doc.paths["/menu"].post;
  assert.deepEqual(menu.security, [{ bearer: [] }]);
  assert.equal(
    menu.responses["401"].content["application/json"].schema.$ref,
    "#/components/schemas/Error",
  );
  assert.ok(menu.responses["403"]);
});

test("/docs serves the interactive page and its assets", async (t) => {
  const page = await t.app.request("/docs");
  assert.equal(page.status, 200);
  assert.match(page.headers.get("content-type")!, /text\/html/);
  assert.match(await page.text(), /\/static\/docs\.js/);
  const js = await t.app.request("/static/docs.js");
  assert.match(js.headers.get("content-type")!, /javascript/);
  await js.body?.cancel();
  const escape = await t.app.request("/static/..%2Fmain.ts");
  assert.equal(escape.status, 404);
  await escape.body?.cancel();
});

test("X-Request-Id: generated, or echoed when safe", async (t) => {
  const gen = await t.app.request("/health");
  assert.match(gen.headers.get("x-request-id")!, /^[0-9a-f-]{36}$/);
  await gen.body?.cancel();
  const echo = await t.app.request("/health", {
    headers: { "x-request-id": "till-3.42" },
  });
  assert.equal(echo.headers.get("x-request-id"), "till-3.42");
  await echo.body?.cancel();
  const unsafe = await t.app.request("/health", {
    headers: { "x-request-id": "<script>" },
  });
  assert.notEqual(unsafe.headers.get("x-request-id"), "<script>");
  await unsafe.body?.cancel();
});

test("the demo menu seeds once; items 1 and 2 take the original test's order", async (t) => {
  assert.equal(await seedIfEmpty(t.store), true);
  assert.equal(await seedIfEmpty(t.store), false);
  const res = await t.app.request(
    "/orders",
    jsonReq("POST", {
      items: [{ menu_item_id: 1, quantity: 2 }, {
        menu_item_id: 2,
        quantity: 1,
      }],
    }),
  );
  assert.equal(res.status, 200);
  assert.equal((await res.json()).items.length, 2);
  await seedDemo(t.store, { reset: true });
  assert.equal(
    (await t.store.listOrders({ limit: 10 })).length,
    0,
    "reset wipes orders",
  );
  assert.equal((await t.store.getMenuItem(1))?.name, "Margherita Pizza");
  assert.ok((await t.store.listInventory()).length > 0);
});

test("a failing database gives a 5xx with a request id and no driver text", async (t) => {
  await t.store.close();
  t.store.close = () => Promise.resolve();
  for (
    const [method, url, body] of [["GET", "/menu", undefined], [
      "POST",
      "/orders",
      { items: [{ menu_item_id: 1, quantity: 1 }] },
    ]] as const
  ) {
    const res = await t.app.request(url, jsonReq(method, body));
    assert.ok(res.status >= 500, `${method} ${url}: ${res.status}`);
    const id = res.headers.get("x-request-id");
    assert.ok(id);
    const text = await res.text();
    assert.ok(
      !/sqlite|libsql|postgres|select|insert|\.ts:\d+|Error:/i.test(text),
      text,
    );
    const err = JSON.parse(text).error;
    if (res.status === 500) assert.equal(err.details.request_id, id);
  }
});
