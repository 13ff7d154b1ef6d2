/** Exactly-once under a rush: racing orders with duplicate keys, racing bumps. */
import assert from "node:assert/strict";
import { addItem, backends, jsonReq, testApp, withServer } from "./_helpers.ts";

const ORDERS = 1000;
const STOCK = 600;

for (const backend of backends()) {
  Deno.test({
    name:
      `[${backend.name}] 1,000 racing POST /orders with 10% duplicate keys sell exactly the stock`,
    ignore: backend.skip !== undefined,
    async fn() {
      const t = await testApp(backend);
      try {
        const itemId = await addItem(t.store, {
          stock: STOCK,
          priceCents: 450,
        });
        const eventsBefore = await t.store.lastEventId();
        const body = (n: number) => ({
          items: [{ menu_item_id: itemId, quantity: 1 }],
          notes: `Order ${n}`,
        });
        // Requests 0..899 carry their own key; 900..999 reuse the key AND body of request (n - 900) * 9.
        const plan = Array.from({ length: ORDERS }, (_, n) => {
          const original = n < 900 ? n : (n - 900) * 9;
          return { n, original, key: `k-${original}`, body: body(original) };
        });
        const results = await withServer(
          t.app.fetch,
          (base) =>
            Promise.all(plan.map(async (p) => {
              const res = await fetch(
                `${base}/orders`,
                jsonReq("POST", p.body, { "Idempotency-Key": p.key }),
              );
              return {
                ...p,
                status: res.status,
                replayed: res.headers.get("idempotent-replayed") === "true",
                json: await res.json(),
              };
            })),
        );

        assert.equal(
          results.filter((r) => r.status >= 500).length,
          0,
          "no 5xx",
        );
        const originals = results.filter((r) => r.n < 900);
        const sold = originals.filter((r) => r.status === 200);
        assert.equal(sold.length, STOCK, "exactly the stock was sold");
        assert.ok(
          originals.filter((r) => r.status !== 200).every((r) =>
            r.status === 409 &&
            ["out_of_stock", "item_unavailable"].includes(r.json.error.code)
          ),
          "every other original was refused as sold out",
        );
        // Each duplicate got exactly what its original got.
        const byKey = new Map(originals.map((r) => [r.key, r]));
        for (const dup of results.filter((r) => r.n >= 900)) {
          const orig = byKey.get(dup.key)!;
          assert.equal(dup.status, orig.status, `status of duplicate ${dup.n}`);
          assert.deepEqual(dup.json, orig.json, `body of duplicate ${dup.n}`);
          if (orig.status === 200) {
            assert.equal(dup.replayed || orig.replayed, true);
          }
        }

        const orders = await t.store.listOrders({ limit: 5000 });
        assert.equal(orders.length, STOCK, "exactly 600 orders exist");
        assert.equal(
          new Set(orders.map((o) => o.notes)).size,
          STOCK,
          "no order twice",
        );
        const item = await t.store.getMenuItem(itemId);
        assert.equal(item?.stock, 0);
        assert.equal(item?.available, false);
        const events = await t.store.listEvents(eventsBefore, 100_000);
        const created = events.filter((e) => e.type === "order.created");
        assert.equal(created.length, STOCK, "one order.created per order");
        assert.equal(
          new Set(created.map((e) => (e.data as { id: number }).id)).size,
          STOCK,
        );
      } finally {
        await t.cleanup();
      }
    },
  });

  Deno.test({
    name:
      `[${backend.name}] two PATCHes racing on one version: one 200, one 412`,
    ignore: backend.skip !== undefined,
    async fn() {
      const t = await testApp(backend);
      try {
        const itemId = await addItem(t.store);
        const placed = await t.store.placeOrder({
          items: [{ menuItemId: itemId, quantity: 1 }],
        });
        const id = placed.orderId;
        for (let round = 0; round < 20; round++) {
          const order = (await t.store.getOrder(id))!;
          const next = order.status === "pending" || order.status === "ready"
            ? "in_progress"
            : "ready";
          const [a, b] = await Promise.all([1, 2].map(() =>
            t.app.request(
              `/orders/${id}`,
              jsonReq("PATCH", { status: next }, {
                "If-Match": `"${order.version}"`,
              }),
            )
          ));
          assert.deepEqual(
            [a!.status, b!.status].sort(),
            [200, 412],
            `round ${round}`,
          );
          await a!.body?.cancel();
          await b!.body?.cancel();
          const after = (await t.store.getOrder(id))!;
          assert.equal(after.version, order.version + 1);
        }
        const illegal = await t.app.request(
          `/orders/${id}`,
          jsonReq("PATCH", { status: "pending" }),
        );
        assert.equal(illegal.status, 409);
        assert.equal((await illegal.json()).error.code, "illegal_transition");
      } finally {
        await t.cleanup();
      }
    },
  });
}
