/**
 * Group commit of orders: the serial rules hold inside a batch, on both
 * backends; a batch the database refuses falls back to one order at a time
 * (libSQL); two PostgreSQL instances race with the same keys.
 */
import assert from "node:assert/strict";
import { ConflictError, ValidationError } from "../domain/errors.ts";
import { openPostgresStore } from "../db/postgres/store.ts";
import type { ThreadedLibsqlStore } from "../db/libsql/threaded.ts";
import type { Store } from "../db/store.ts";
import type { Placed } from "../domain/types.ts";
import { backends, type TestBackend } from "./_helpers.ts";

function testOn(
  only: TestBackend["name"] | null,
  name: string,
  fn: (s: Store, url: string) => Promise<void>,
) {
  for (const backend of backends()) {
    if (only !== null && backend.name !== only) continue;
    Deno.test({
      name: `[${backend.name}] ${name}`,
      ignore: backend.skip !== undefined,
      async fn() {
        const db = await backend.open();
        try {
          await fn(db.store, db.url);
        } finally {
          await db.cleanup();
        }
      },
    });
  }
}

const test = (name: string, fn: (s: Store, url: string) => Promise<void>) =>
  testOn(null, name, fn);

const dish = (s: Store, name: string, stock: number | null) =>
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

testOn(
  "postgres",
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

testOn(
  "postgres",
  "text PostgreSQL cannot store fails that order alone (422), not its batch",
  async (s) => {
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
  },
);

test("1,200 orders at once: every answer names the order and lines the database holds", async (s) => {
  const tracked = await dish(s, "Risotto", 10_000);
  const free = await dish(s, "Focaccia", null);
  const before = await s.lastEventId();
  const placed = await Promise.all(
    Array.from({ length: 1200 }, (_, n) =>
      s.placeOrder(
        {
          items: [
            { menuItemId: tracked.id, quantity: 1 + (n % 3) },
            { menuItemId: free.id, quantity: 1, notes: `line ${n}` },
            ...(n % 4 === 0 ? [{ name: `Off-menu ${n}`, quantity: 2 }] : []),
          ],
          notes: `n${n}`,
        },
        n % 2 ? { idempotency: key(`many-${n}`) } : {},
      )),
  );
  assert.equal(new Set(placed.map((p) => p.orderId)).size, 1200);
  for (const [n, p] of placed.entries()) {
    const stored = await s.getOrder(p.orderId);
    assert.equal(stored?.notes, `n${n}`);
    const body = p.body as { id: number; items: { id: number }[] };
    assert.equal(body.id, p.orderId);
    assert.deepEqual(
      body.items.map((l) => l.id),
      stored!.items.map((l) => l.id),
      `lines of order ${n}`,
    );
  }
  const sold = placed.reduce((sum, _, n) => sum + 1 + (n % 3), 0);
  assert.equal((await s.getMenuItem(tracked.id))?.stock, 10_000 - sold);
  const created = (await s.listEvents(before, 5000)).filter((e) =>
    e.type === "order.created"
  );
  assert.deepEqual(
    created.map((e) => (e.data as { id: number }).id),
    placed.map((p) => p.orderId).sort((a, b) => a - b),
  );
});

testOn(
  "libsql",
  "a group the database refuses is placed one order at a time: only the bad order fails",
  async (store) => {
    const s = store as ThreadedLibsqlStore;
    const item = await dish(s, "Gnocchi", 100);
    await s.read(`CREATE TRIGGER refuse_boom BEFORE INSERT ON orders
      WHEN NEW.notes = 'boom' BEGIN SELECT RAISE(ABORT, 'boom refused'); END`);
    const before = await s.lastEventId();
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, (_, n) =>
        s.placeOrder(
          {
            items: [{ menuItemId: item.id, quantity: 1 }],
            notes: n === 7 ? "boom" : `ok ${n}`,
          },
          { idempotency: key(`g${n}`) },
        )),
    );
    assert.deepEqual(
      results.map((r) => r.status),
      Array.from({ length: 20 }, (_, n) => n === 7 ? "rejected" : "fulfilled"),
    );
    assert.match(String((results[7] as PromiseRejectedResult).reason), /boom/);
    assert.equal((await s.listOrders({ limit: 100 })).length, 19);
    assert.equal((await s.getMenuItem(item.id))?.stock, 81);
    const events = await s.listEvents(before);
    assert.equal(events.filter((e) => e.type === "order.created").length, 19);
    const [{ n }] = await s.read(
      "SELECT count(*) AS n FROM idempotency_keys",
    ) as unknown as [{ n: number }];
    assert.equal(n, 19, "the refused order left no key behind");
  },
);

testOn(
  "libsql",
  "an unpaired surrogate reaching the store is stored as U+FFFD, never as bytes the driver cannot read",
  async (s) => {
    const item = await dish(s, "Polenta", null);
    const results = await Promise.all(
      ["fine", "lone \ud800 here", "also fine"].map((notes) =>
        s.placeOrder({ items: [{ menuItemId: item.id, quantity: 1 }], notes })
      ),
    );
    const notes = await Promise.all(
      results.map(async (p) => (await s.getOrder(p.orderId))?.notes),
    );
    assert.deepEqual(notes, ["fine", "lone \ufffd here", "also fine"]);
  },
);
