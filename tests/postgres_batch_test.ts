/**
 * What the PostgreSQL order batch leaves behind besides the orders: the key
 * rows are finished in place (HOT updates, no new index entries), and the
 * ids a batch draws for orders it then refuses or replays are gaps, never
 * reused. And the race its claim statement has to get right: a key claimed
 * by another transaction that ends while the batch waits on it.
 */
import assert from "node:assert/strict";
import postgres from "postgres";
import { ConflictError } from "../domain/errors.ts";
import { openPostgresStore, type PostgresStore } from "../db/postgres/store.ts";
import { orderJson } from "../domain/wire.ts";
import { postgresTestBackend } from "./_postgres.ts";
import type { TestDb } from "./_helpers.ts";

const pg = postgresTestBackend();

/** A test on a fresh PostgreSQL database (and its store), dropped afterwards. */
function pgTest(
  name: string,
  fn: (db: TestDb, store: PostgresStore) => Promise<void>,
) {
  Deno.test({
    name: `[postgres] ${name}`,
    ignore: pg.skip !== undefined,
    async fn() {
      const db = await pg.open();
      try {
        await fn(db, db.store as PostgresStore);
      } finally {
        await db.cleanup();
      }
    },
  });
}

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

type KeyCounters = { seq: number; upd: number; hot: number; del: number };

/**
 * The `idempotency_keys` counters of the database at `url` once `ready` holds
 * for them (or after 10 s): a store's connections report theirs as they
 * close, a moment after.
 */
async function keyCounters(
  url: string,
  ready: (c: KeyCounters) => boolean,
): Promise<KeyCounters> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    for (let i = 0;; i++) {
      const [c] = await sql<KeyCounters[]>`
        SELECT seq_tup_read::int AS seq, n_tup_upd::int AS upd,
          n_tup_hot_upd::int AS hot, n_tup_del::int AS del
        FROM pg_stat_user_tables WHERE relname = 'idempotency_keys'`;
      if (ready(c!) || i >= 100) return c!;
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    await sql.end({ timeout: 1 });
  }
}

pgTest(
  "a key's outcome is written over its claim in place (HOT update)",
  async (db) => {
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
    const c = await keyCounters(db.url, (c) => c.upd >= 200);
    assert.equal(c.upd, 200, "every claim was finished by one UPDATE");
    assert.ok(c.hot >= 190, `only ${c.hot} of 200 outcome updates were HOT`);
  },
);

pgTest(
  "finishing a batch's keys costs the same on a large table: no scan of idempotency_keys",
  async (db) => {
    const admin = postgres(db.url, { max: 1, onnotice: () => {} });
    try {
      // A store of its own: its connections report their counters as they close.
      const store = await openPostgresStore(db.url, { max: 2 });
      try {
        const soup = await addItem(store, "Soup", null);
        const pie = await addItem(store, "Pie", 25);
        const place = async (item: { id: number }, n: number) => {
          for (let i = 0; i < n; i++) {
            await store.placeOrder(
              { items: [{ menuItemId: item.id, quantity: 1 }] },
              { idempotency: key(crypto.randomUUID()) },
            ).catch((e) => assert.ok(e instanceof ConflictError, String(e)));
          }
        };
        // Its statements are planned (and their plans cached) on a tiny
        // table, refusals included (the pie sells out)…
        await place(soup, 10);
        await place(pie, 30);
        // …which then grows, as it does through a rush on a new database.
        await admin`
          INSERT INTO idempotency_keys (scope, key, fingerprint, status, body,
            resource_id, created_at)
          SELECT 'bulk', g::text, 'f', 200, '{}', 1, now()
          FROM generate_series(1, 20000) g`;
        await place(soup, 10);
        await place(pie, 10); // all refused: their claims are dropped
      } finally {
        await store.close();
      }
      // 45 orders placed (20 soups, 25 pies) and 15 refused (the pies after
      // the 25th): once the store's counters are in, 45 outcomes and 15
      // dropped claims.
      const c = await keyCounters(db.url, (c) => c.upd >= 45 && c.del >= 15);
      assert.deepEqual([c.upd, c.del], [45, 15]);
      // One full scan would read 20,000 rows; one per batch, 400,000.
      assert.ok(c.seq < 20_000, `batches read ${c.seq} key rows by a scan`);
    } finally {
      await admin.end({ timeout: 1 });
    }
  },
);

pgTest(
  "ids drawn for refused and replayed orders are skipped, never reused",
  async (_db, store) => {
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
  },
);

/**
 * Holds key `k` claimed in an open transaction of another connection (as
 * another instance would), lets `place` start, then ends that transaction
 * with `end`; resolves to what `place` answered.
 */
async function raceClaim<T>(
  url: string,
  k: { scope: string; key: string; fingerprint: string },
  place: () => Promise<T>,
  end: (tx: postgres.ReservedSql) => Promise<unknown>,
): Promise<T> {
  // One connection holds the claim, the other watches the batch wait.
  const other = postgres(url, { max: 2, onnotice: () => {} });
  try {
    const tx = await other.reserve();
    await tx`BEGIN`;
    await tx`INSERT INTO idempotency_keys (scope, key, fingerprint, created_at)
      VALUES (${k.scope}, ${k.key}, ${k.fingerprint}, now())`;
    const answer = place();
    // The batch's claim now waits on the uncommitted row.
    let waiting = 0;
    for (let i = 0; i < 100 && waiting === 0; i++) {
      await new Promise((r) => setTimeout(r, 20));
      const [row] = await other<{ n: number }[]>`
        SELECT count(*)::int AS n FROM pg_stat_activity
        WHERE datname = current_database() AND wait_event_type = 'Lock'`;
      waiting = row!.n;
    }
    assert.equal(waiting, 1, "the batch never waited on the claimed key");
    await end(tx);
    tx.release();
    return await answer;
  } finally {
    await other.end({ timeout: 1 });
  }
}

pgTest(
  "a key another instance claims and finishes while the batch waits on it is replayed",
  async (db, store) => {
    const soup = await addItem(store, "Soup", 10);
    const earlier = await store.placeOrder({
      items: [{ menuItemId: soup.id, quantity: 1 }],
    });
    const k = key(crypto.randomUUID());
    const body = { id: earlier.orderId, from: "the other instance" };
    const placed = await raceClaim(
      db.url,
      k,
      () =>
        store.placeOrder({ items: [{ menuItemId: soup.id, quantity: 1 }] }, {
          idempotency: k,
        }),
      async (tx) => {
        const json = JSON.stringify(body);
        await tx`UPDATE idempotency_keys SET status = 200,
          body = ${json}::text::json, resource_id = ${earlier.orderId}
          WHERE scope = ${k.scope} AND key = ${k.key}`;
        await tx`COMMIT`;
      },
    );
    assert.equal(placed.replayed, true);
    assert.equal(placed.orderId, earlier.orderId);
    assert.deepEqual(placed.body, body);
    // Nothing was placed or taken for the replay.
    assert.equal((await store.getMenuItem(soup.id))?.stock, 9);
    assert.equal((await store.listOrders({ limit: 10 })).length, 1);
  },
);

pgTest(
  "a key whose other claimer rolls back while the batch waits on it is placed here",
  async (db, store) => {
    const soup = await addItem(store, "Soup", 10);
    const k = key(crypto.randomUUID());
    const placed = await raceClaim(
      db.url,
      k,
      () =>
        store.placeOrder({ items: [{ menuItemId: soup.id, quantity: 2 }] }, {
          idempotency: k,
        }),
      (tx) => tx`ROLLBACK`,
    );
    assert.equal(placed.replayed, false);
    assert.equal((await store.getOrder(placed.orderId))?.totalCents, 1300);
    assert.equal((await store.getMenuItem(soup.id))?.stock, 8);
    // The key now answers with this order.
    const again = await store.placeOrder({
      items: [{ menuItemId: soup.id, quantity: 2 }],
    }, { idempotency: k });
    assert.equal(again.replayed, true);
    assert.equal(again.orderId, placed.orderId);
  },
);

pgTest(
  "an order.created event carries the order's own JSON, sent with it or taken from its outcome",
  async (_db, store) => {
    const item = await addItem(store, "Soup", null);
    const order = (notes: string) => ({
      items: [{ menuItemId: item.id, quantity: 2 }],
      notes,
    });
    const bistroKey = key(crypto.randomUUID());
    // Queued together, so they share a batch: keyed native orders (their
    // event takes the outcome's JSON), a Bistro92 answer (its event cannot),
    // and an order without a key (no outcome row to take it from).
    const placed = await Promise.all([
      store.placeOrder(order("keyed"), {
        idempotency: key(crypto.randomUUID()),
      }),
      store.placeOrder(order("bistro"), {
        idempotency: bistroKey,
        view: "bistro",
      }),
      store.placeOrder(order("no key")),
      store.placeOrder(order("keyed 2"), {
        idempotency: key(crypto.randomUUID()),
      }),
    ]);
    const created = (await store.listEvents(0, 100))
      .filter((e) => e.type === "order.created");
    assert.equal(created.length, 4);
    for (const p of placed) {
      const event = created.find((e) =>
        (e.data as { id: number }).id === p.orderId
      );
      const stored = await store.getOrder(p.orderId);
      assert.deepEqual(event?.data, orderJson(stored!), `order ${p.orderId}`);
    }
    assert.deepEqual(
      placed[0]!.body,
      orderJson((await store.getOrder(placed[0]!.orderId))!),
    );
    // The Bistro92 answer keeps its own shape, stored and replayed.
    const bistro = {
      id: placed[1]!.orderId,
      table: "",
      items: [{ name: "Soup", quantity: 2 }],
    };
    assert.deepEqual(
      { ...(placed[1]!.body as object), created_at: undefined },
      { ...bistro, created_at: undefined },
    );
    const again = await store.placeOrder(order("bistro"), {
      idempotency: bistroKey,
      view: "bistro",
    });
    assert.equal(again.replayed, true);
    assert.deepEqual(again.body, placed[1]!.body);
  },
);
