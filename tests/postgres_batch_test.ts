/** Group commit of orders on PostgreSQL: the serial rules hold inside a batch and across instances. */
import assert from "node:assert/strict";
import { ConflictError, ValidationError } from "../domain/errors.ts";
import { openPostgresStore, type PostgresStore } from "../db/postgres_store.ts";
import type { Placed } from "../domain/types.ts";
import { postgresTestBackend } from "./_postgres.ts";

const pg = postgresTestBackend();

function test(
  name: string,
  fn: (s: PostgresStore, url: string) => Promise<void>,
) {
  Deno.test({
    name: `[postgres] ${name}`,
    ignore: pg.skip !== undefined,
    async fn() {
      const db = await pg.open();
      try {
        await fn(db.store as PostgresStore, db.url);
      } finally {
        await db.cleanup();
      }
    },
  });
}

const dish = (s: PostgresStore, name: string, stock: number | null) =>
  s.createMenuItem({
    name,
    description: "",
    priceCents: 1200,
    category: "Mains",
    available: true,
    stock,
  });
const key = (k: string, fingerprint = "f") => ({
  scope: "POST /orders",
  key: k,
  fingerprint,
});

test("one batch sells exactly the stock, in arrival order, with one sold-out event", async (s) => {
  const item = await dish(s, "Ossobuco", 5);
  const before = await s.lastEventId();
  const results = await Promise.allSettled(
    Array.from({ length: 12 }, (_, n) =>
      s.placeOrder({
        items: [{ menuItemId: item.id, quantity: 1 }],
        notes: `n${n}`,
      })),
  );
  const sold = results.filter((r) => r.status === "fulfilled");
  assert.equal(sold.length, 5);
  // Serial semantics: the first five (in arrival order) got it.
  assert.deepEqual(
    results.map((r) => r.status === "fulfilled"),
    Array.from({ length: 12 }, (_, n) => n < 5),
  );
  for (const r of results.slice(5)) {
    const e = (r as PromiseRejectedResult).reason;
    assert.ok(e instanceof ConflictError);
    assert.equal(e.code, "item_unavailable", "sold out made it unavailable");
  }
  const after = await s.getMenuItem(item.id);
  assert.deepEqual([after?.stock, after?.available], [0, false]);
  const types = (await s.listEvents(before)).map((e) => e.type);
  assert.equal(types.filter((t) => t === "order.created").length, 5);
  assert.equal(types.filter((t) => t === "menu.updated").length, 1);
  // The sold-out event comes before the order that emptied the stock.
  assert.equal(types.indexOf("menu.updated"), types.length - 2);
});

test("the same key twice at once: one order, one replay; another body gets a 422", async (s) => {
  const item = await dish(s, "Carbonara", null);
  const input = { items: [{ menuItemId: item.id, quantity: 1 }] };
  const [a, b, c] = await Promise.allSettled([
    s.placeOrder(input, { idempotency: key("k1") }),
    s.placeOrder(input, { idempotency: key("k1") }),
    s.placeOrder(input, { idempotency: key("k1", "other body") }),
  ]);
  const placed = [a, b].map((r) => (r as PromiseFulfilledResult<Placed>).value);
  assert.equal(placed[0]!.orderId, placed[1]!.orderId);
  assert.deepEqual(placed.map((p) => p.replayed).sort(), [false, true]);
  assert.deepEqual(placed[0]!.body, placed[1]!.body);
  assert.equal(c.status, "rejected");
  assert.ok((c as PromiseRejectedResult).reason instanceof ValidationError);
  assert.equal((await s.listOrders({ limit: 10 })).length, 1);
});

test("a refused order is not remembered under its key", async (s) => {
  const item = await dish(s, "Tartufo", 1);
  const input = { items: [{ menuItemId: item.id, quantity: 2 }] };
  await assert.rejects(
    s.placeOrder(input, { idempotency: key("again") }),
    ConflictError,
  );
  await s.updateMenuItem(item.id, { stock: 5 });
  const placed = await s.placeOrder(input, { idempotency: key("again") });
  assert.equal(placed.replayed, false);
  assert.equal((await s.getMenuItem(item.id))?.stock, 3);
});

test(
  "two instances racing with the same keys place each order exactly once",
  async (a, url) => {
    const b = await openPostgresStore(url);
    try {
      const item = await dish(a, "Saltimbocca", 300);
      const input = (n: number) => ({
        items: [{ menuItemId: item.id, quantity: 1 }],
        notes: `n${n}`,
      });
      const runs = Array.from({ length: 200 }, (_, n) => [
        a.placeOrder(input(n), { idempotency: key(`k${n}`, `f${n}`) }),
        b.placeOrder(input(n), { idempotency: key(`k${n}`, `f${n}`) }),
      ]).flat();
      const placed = await Promise.all(runs);
      for (let n = 0; n < 200; n++) {
        const [x, y] = [placed[2 * n]!, placed[2 * n + 1]!];
        assert.equal(x.orderId, y.orderId, `key k${n}`);
        assert.equal([x.replayed, y.replayed].filter(Boolean).length, 1);
      }
      assert.equal((await a.listOrders({ limit: 1000 })).length, 200);
      assert.equal((await b.getMenuItem(item.id))?.stock, 100);
    } finally {
      await b.close();
    }
  },
);

test("text PostgreSQL cannot store fails that order alone (422), not its batch", async (s) => {
  const item = await dish(s, "Panzanella", null);
  const results = await Promise.allSettled([
    s.placeOrder({
      items: [{ menuItemId: item.id, quantity: 1 }],
      notes: "ok 1",
    }),
    s.placeOrder({
      items: [{ menuItemId: item.id, quantity: 1 }],
      notes: "nul \u0000 here",
    }),
    s.placeOrder({
      items: [{ menuItemId: item.id, quantity: 1 }],
      notes: "ok 2",
    }),
  ]);
  assert.deepEqual(results.map((r) => r.status), [
    "fulfilled",
    "rejected",
    "fulfilled",
  ]);
  const e = (results[1] as PromiseRejectedResult).reason;
  assert.ok(e instanceof ValidationError, String(e));
  assert.deepEqual(
    (await s.listOrders({ limit: 10 })).map((o) => o.notes).sort(),
    ["ok 1", "ok 2"],
  );
});
