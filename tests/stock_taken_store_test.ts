/**
 * The one-order-at-a-time write paths (the fallback when a group fails)
 * record the stock each line took, as the group paths do (issue 24, defect
 * 3): libSQL's `insertOrder`, PostgreSQL's `placeOrderTx`, including an item
 * untracked while a PostgreSQL order waits for its stock row.
 */
import assert from "node:assert/strict";
import postgres from "postgres";
import { insertOrder } from "../db/libsql/orders.ts";
import { openLibsqlStore } from "../db/libsql/store.ts";
import { placeOrderTx } from "../db/postgres/orders.ts";
import type { PostgresStore } from "../db/postgres/store.ts";
import type { Store } from "../db/store.ts";
import type { NewOrder, Order } from "../domain/types.ts";
import { orderJson } from "../domain/wire.ts";
import { addItem } from "./_helpers.ts";
import { openTempPostgres, postgresSkipReason } from "./_postgres.ts";

const pgSkip = postgresSkipReason();

/** Places `input` through PostgreSQL's single-order transaction. */
async function placeOne(store: PostgresStore, input: NewOrder) {
  const placed = await store.transaction((tx) =>
    placeOrderTx(tx, input, { status: 200, render: orderJson, pool: store.sql })
  );
  return (await store.getOrder(placed.orderId))!;
}

/** Orders a tracked and an untracked item, tracks the second, cancels: only the first comes back. */
async function givesBackWhatItTook(
  store: Store,
  place: (input: NewOrder) => Promise<Order>,
) {
  const cake = await addItem(store, { stock: 10 });
  const soup = await addItem(store, { stock: null });
  const order = await place({
    items: [{ menuItemId: cake, quantity: 2 }, {
      menuItemId: soup,
      quantity: 3,
    }, { name: "Water", quantity: 1 }],
  });
  assert.deepEqual(order.items.map((l) => l.stockTaken), [2, 0, 0]);
  const stored = await store.getOrder(order.id);
  assert.deepEqual(stored!.items.map((l) => l.stockTaken), [2, 0, 0]);
  await store.updateMenuItem(soup, { stock: 4 });
  await store.setOrderStatus(order.id, "cancelled");
  assert.equal((await store.getMenuItem(cake))?.stock, 10);
  assert.equal((await store.getMenuItem(soup))?.stock, 4);
}

Deno.test("[libsql] insertOrder() records the stock each line took; a cancel gives back exactly that", async () => {
  const dir = await Deno.makeTempDir({ prefix: "forkflow-test-" });
  const store = await openLibsqlStore(`file:${dir}/test.db`);
  try {
    await givesBackWhatItTook(
      store,
      (input) => store.write((tx) => insertOrder(tx, input)),
    );
  } finally {
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name:
    `[postgres] placeOrderTx() records the stock each line took; a cancel gives back exactly that${
      pgSkip ? ` (skipped: ${pgSkip})` : ""
    }`,
  ignore: pgSkip !== undefined,
  async fn() {
    const db = await openTempPostgres();
    const store = db.store as PostgresStore;
    try {
      await givesBackWhatItTook(store, (input) => placeOne(store, input));
    } finally {
      await db.cleanup();
    }
  },
});

/** Resolves once a backend of this database waits for a lock (bounded). */
async function someoneWaits(sql: postgres.Sql): Promise<void> {
  for (let i = 0; i < 500; i++) {
    const [row] = await sql`SELECT count(*)::int AS n FROM pg_stat_activity
      WHERE datname = current_database() AND wait_event_type = 'Lock'`;
    if (row!.n > 0) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error("no transaction waited for the menu row within 5 s");
}

Deno.test({
  name:
    `[postgres] an item untracked while an order waits for its row: the order took nothing${
      pgSkip ? ` (skipped: ${pgSkip})` : ""
    }`,
  ignore: pgSkip !== undefined,
  async fn() {
    const db = await openTempPostgres();
    const store = db.store as PostgresStore;
    const admin = postgres(db.url, { max: 2, onnotice: () => {} });
    try {
      const bread = await addItem(store, { stock: 5 });
      let order: Promise<Order> | null = null;
      // The admin's update holds the row: the order reads the menu (tracked),
      // then its stock update waits, and runs on the untracked row.
      await admin.begin(async (tx) => {
        await tx`UPDATE menu_items SET stock = NULL WHERE id = ${bread}`;
        order = placeOne(store, {
          items: [{ menuItemId: bread, quantity: 2 }],
        });
        await someoneWaits(admin);
      });
      const placed = await order!;
      assert.equal((await store.getMenuItem(bread))?.stock, null);
      assert.deepEqual(placed.items.map((l) => l.stockTaken), [0]);
      await store.updateMenuItem(bread, { stock: 5 });
      await store.setOrderStatus(placed.id, "cancelled");
      assert.equal((await store.getMenuItem(bread))?.stock, 5);
    } finally {
      await admin.end({ timeout: 5 });
      await db.cleanup();
    }
  },
});
