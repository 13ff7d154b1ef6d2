/**
 * `Idempotency-Key` as draft-ietf-httpapi-idempotency-key-header defines it
 * (issue 24): an RFC 8941 sf-string with spaces and escapes is a key, its
 * unescaped value is the key (so `"abc"` replays `abc`), and /openapi.json
 * publishes the expiry policy.
 */
import assert from "node:assert/strict";
import {
  addItem,
  jsonReq,
  type TestCtx,
  testEachBackend as test,
} from "./_helpers.ts";

async function send(t: TestCtx, path: string, body: unknown, key: string) {
  const res = await t.app.request(
    path,
    jsonReq("POST", body, { "Idempotency-Key": key }),
  );
  return {
    status: res.status,
    replayed: res.headers.get("Idempotent-Replayed"),
    json: await res.json(),
  };
}

const orderCount = async (t: TestCtx) =>
  (await t.store.listOrders({ limit: 1000 })).length;

test('POST /orders takes the quoted key "order 42 terminal 3" and replays it', async (t) => {
  const id = await addItem(t.store, { stock: 10 });
  const body = { items: [{ menu_item_id: id, quantity: 2 }] };
  const key = '"order 42 terminal 3"';
  const first = await send(t, "/orders", body, key);
  assert.equal(first.status, 200, JSON.stringify(first.json));
  assert.equal(first.replayed, null);
  const again = await send(t, "/orders", body, key);
  assert.equal(again.status, 200);
  assert.equal(again.replayed, "true");
  assert.equal(again.json.id, first.json.id);
  assert.equal(await orderCount(t), 1);
  assert.equal((await t.store.getMenuItem(id))!.stock, 8);
});

test('"abc" and abc are one key: each replays the other, escapes unescaped', async (t) => {
  const id = await addItem(t.store);
  const body = { items: [{ menu_item_id: id, quantity: 1 }] };
  const bare = await send(t, "/orders", body, "abc");
  const quoted = await send(t, "/orders", body, '"abc"');
  assert.equal(quoted.replayed, "true");
  assert.equal(quoted.json.id, bare.json.id);
  const other = await send(t, "/orders", { ...body, notes: "x" }, '"abc"');
  assert.equal(other.status, 422);
  assert.equal(other.json.error.code, "idempotency_key_reused");
  const escaped = await send(t, "/orders", body, '"say \\"hi\\" \\\\ bye"');
  assert.equal(escaped.status, 200);
  const replay = await send(t, "/orders", body, '"say \\"hi\\" \\\\ bye"');
  assert.equal(replay.json.id, escaped.json.id);
  assert.equal(await orderCount(t), 2);
});

test("POST /api/order (Bistro92) takes a quoted key with spaces and replays it", async (t) => {
  const body = { table: "T1", items: [{ name: "Tea", quantity: 1 }] };
  const first = await send(t, "/api/order", body, '"table 1 round 2"');
  assert.equal(first.status, 201, JSON.stringify(first.json));
  const again = await send(t, "/api/order", body, '"table 1 round 2"');
  assert.equal(again.status, 201);
  assert.equal(again.replayed, "true");
  assert.equal(again.json.id, first.json.id);
  assert.equal(await orderCount(t), 1);
});

test("a malformed quoted key is a 400 invalid_idempotency_key saying why, and places nothing", async (t) => {
  const id = await addItem(t.store);
  const body = { items: [{ menu_item_id: id, quantity: 1 }] };
  for (
    const [key, why] of [
      ['"no end', /no closing quote/],
      ['"bad \\n escape"', /escape only/],
      ['"a";p=1', /closing quote/],
      [`"${"x".repeat(256)}"`, /got 256/],
    ] as const
  ) {
    const res = await send(t, "/orders", body, key);
    assert.equal(res.status, 400, key);
    assert.equal(res.json.error.code, "invalid_idempotency_key");
    assert.match(res.json.error.message, why);
  }
  assert.equal(await orderCount(t), 0);
});

test("/openapi.json describes the sf-string key and its expiry policy", async (t) => {
  const doc = await (await t.app.request("/openapi.json")).json();
  const header = doc.paths["/orders"].post.parameters.find((
    p: { name: string },
  ) => p.name === "Idempotency-Key");
  assert.match(header.description, /RFC 8941/);
  assert.match(header.description, /"order 42 terminal 3"/);
  assert.match(header.description, /IDEMPOTENCY_TTL_S/);
  assert.match(header.description, /24 hours/);
  assert.match(header.description, /purged/);
});
