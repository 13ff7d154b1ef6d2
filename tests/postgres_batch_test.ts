/**
 * What the PostgreSQL order batch leaves behind besides the orders: the key
 * rows are finished in place (HOT updates, no new index entries), and the
 * ids a batch draws for orders it then refuses or replays are gaps, never
 * reused.
 */
import assert from "node:assert/strict";
import postgres from "postgres";
import { openPostgresStore, type PostgresStore } from "../db/postgres_store.ts";
import { postgresTestBackend } from "./_postgres.ts";

const pg = postgresTestBackend();

async function addItem(
  store: PostgresStore,
  name: string,
  stock: number | null,
) {
  return await store.createMenuItem({
    name,
    description: "",
    priceCents: 650,
    category: "Starters",
    available: true,
    stock,
  });
}

/** A key as the HTTP layer makes them: a client UUID and a SHA-256 hex fingerprint. */
const key = (k: string) => ({
  scope: "POST /orders",
  key: k,
  fingerprint: k.padEnd(64, "0"),
});

Deno.test({
  name:
    "[postgres] a key's outcome is written over its claim in place (HOT update)",
  ignore: pg.skip !== undefined,
  async fn() {
    const db = await pg.open();
    const stats = postgres(db.url, { max: 1, onnotice: () => {} });
    try {
      // A store of its own: its connections report their counters as they close.
      const store = await openPostgresStore(db.url);
      try {
        const item = await addItem(store, "Soup", null);
        await Promise.all(
          Array.from({ length: 200 }, (_, i) =>
            store.placeOrder(
              { items: [{ menuItemId: item.id, quantity: 1 }], notes: `n${i}` },
              { idempotency: key(crypto.randomUUID()) },
            )),
        );
      } finally {
        await store.close();
      }
      let row: { upd: number; hot: number } | undefined;
      for (let i = 0; i < 100; i++) {
        [row] = await stats<{ upd: number; hot: number }[]>`
          SELECT n_tup_upd::int AS upd, n_tup_hot_upd::int AS hot
          FROM pg_stat_user_tables WHERE relname = 'idempotency_keys'`;
        if (row!.upd >= 200) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(row!.upd, 200, "every claim was finished by one UPDATE");
      assert.ok(
        row!.hot >= 190,
        `only ${row!.hot} of 200 outcome updates were HOT`,
      );
    } finally {
      await stats.end({ timeout: 1 });
      await db.cleanup();
    }
  },
});

Deno.test({
  name:
    "[postgres] ids drawn for refused and replayed orders are skipped, never reused",
  ignore: pg.skip !== undefined,
  async fn() {
    const db = await pg.open();
    const store = db.store as PostgresStore;
    try {
      const soup = await addItem(store, "Soup", 3);
      const bread = await addItem(store, "Bread", null);
      const one = (menuItemId: number) => ({
        items: [{ menuItemId, quantity: 1 }],
      });
      const dup = crypto.randomUUID();
      const first = await store.placeOrder(one(soup.id), {
        idempotency: key(dup),
      });
      // One batch: a replay, two orders that sell out the soup, two refused.
      const [replay, ...rest] = await Promise.allSettled([
        store.placeOrder(one(soup.id), { idempotency: key(dup) }),
        ...Array.from({ length: 4 }, () => store.placeOrder(one(soup.id))),
      ]);
      assert.ok(replay!.status === "fulfilled" && replay!.value.replayed);
      assert.equal(replay!.value.orderId, first.orderId);
      const placed = rest.flatMap((r) =>
        r.status === "fulfilled" ? [r.value.orderId] : []
      );
      assert.equal(placed.length, 2);
      const later = await store.placeOrder(one(bread.id));
      // Every id once, each later than the ones before it.
      const ids = [
        first.orderId,
        ...placed.sort((a, b) => a - b),
        later.orderId,
      ];
      assert.deepEqual([...new Set(ids)].sort((a, b) => a - b), ids);
      for (const id of ids) {
        const order = await store.getOrder(id);
        assert.equal(order?.id, id);
        assert.equal(new Set(order!.items.map((l) => l.id)).size, 1);
      }
    } finally {
      await db.cleanup();
    }
  },
});
