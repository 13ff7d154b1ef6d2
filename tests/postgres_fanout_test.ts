/** Several PostgresStore instances on one database: LISTEN/NOTIFY fan-out and replay by id. */
import assert from "node:assert/strict";
import postgres from "postgres";
import { openPostgresStore, type PostgresStore } from "../db/postgres/store.ts";
import { postgresTestBackend } from "./_postgres.ts";

const pg = postgresTestBackend();

/** Two stores (two "instances") on one fresh database. */
async function twoInstances(
  fn: (a: PostgresStore, b: PostgresStore, url: string) => Promise<void>,
) {
  const db = await pg.open();
  const a = db.store as PostgresStore;
  const b = await openPostgresStore(db.url);
  try {
    await fn(a, b, db.url);
  } finally {
    await b.close();
    await db.cleanup();
  }
}

/** Resolves on the next call of a store's listener (rejects after `ms`). */
function nextWake(store: PostgresStore, ms = 5000): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no wake-up within ${ms} ms`));
    }, ms);
    const off = store.onEvents(() => {
      clearTimeout(timer);
      off();
      resolve();
    });
  });
}

const item = (name: string) => ({
  name,
  description: "",
  priceCents: 900,
  category: "Mains",
  available: true,
  stock: 5,
});

Deno.test({
  name:
    "[postgres] an order committed by one instance wakes the other, which reads it by id",
  ignore: pg.skip !== undefined,
  async fn() {
    await twoInstances(async (a, b) => {
      const dish = await a.createMenuItem(item("Gnocchi"));
      const seen = await b.lastEventId();
      const woken = nextWake(b);
      const placed = await a.placeOrder({
        items: [{ menuItemId: dish.id, quantity: 1 }],
      });
      await woken;
      const events = await b.listEvents(seen);
      const created = events.filter((e) => e.type === "order.created");
      assert.equal(created.length, 1);
      assert.equal((created[0]!.data as { id: number }).id, placed.orderId);
      // B committed nothing: its own listeners only ran because of A.
      assert.deepEqual(await b.listEvents(events.at(-1)!.id), []);
    });
  },
});

Deno.test({
  name:
    "[postgres] after its LISTEN connection drops, an instance re-listens and wakes its listeners to replay",
  ignore: pg.skip !== undefined,
  async fn() {
    await twoInstances(async (a, b, url) => {
      const first = nextWake(b);
      const dish = await a.createMenuItem(item("Risotto"));
      await first; // that NOTIFY is out of the way
      const listensBefore = b.fanout.listens;
      const admin = postgres(url, { max: 1, onnotice() {} });
      try {
        // Nothing is committed meanwhile: only the re-LISTEN can wake B, so
        // its feeds re-read by id whatever was sent while it was deaf.
        const woken = nextWake(b, 10_000);
        const cut = await admin`
          SELECT pg_terminate_backend(pid) FROM pg_stat_activity
          WHERE datname = current_database() AND query ILIKE 'listen%'`;
        assert.ok(cut.length >= 2, "both instances listen");
        await woken;
        assert.ok(b.fanout.listens > listensBefore, "LISTEN re-established");
        // And the new LISTEN connection hears the next order.
        const seen = await b.lastEventId();
        const again = nextWake(b);
        const placed = await a.placeOrder({
          items: [{ menuItemId: dish.id, quantity: 2 }],
        });
        await again;
        const ids = (await b.listEvents(seen))
          .filter((e) => e.type === "order.created")
          .map((e) => (e.data as { id: number }).id);
        assert.deepEqual(ids, [placed.orderId]);
      } finally {
        await admin.end();
      }
    });
  },
});

Deno.test({
  name:
    "[postgres] an event id still in flight holds back the feed until its transaction ends",
  ignore: pg.skip !== undefined,
  async fn() {
    await twoInstances(async (a, b, url) => {
      await a.createMenuItem(item("Focaccia"));
      const start = await b.lastEventId();
      const raw = postgres(url, { max: 1, onnotice() {} });
      try {
        const conn = await raw.reserve();
        await conn`BEGIN`;
        // Takes the next id, then stays open.
        const [slow] = await conn`
          INSERT INTO events (type, data, created_at)
          VALUES ('test.slow', '{}', now()) RETURNING id`;
        await a.createMenuItem(item("Ciabatta")); // a higher id, committed
        let settled = false;
        const feed = b.listEvents(start).then((e) => {
          settled = true;
          return e;
        });
        await new Promise((r) => setTimeout(r, 300));
        assert.equal(settled, false, "the feed waits for the lower id");
        await conn`COMMIT`;
        conn.release();
        const events = await feed;
        assert.deepEqual(events.map((e) => e.type), [
          "test.slow",
          "menu.updated",
        ]);
        assert.equal(events[0]!.id, Number(slow!.id));
        assert.ok(events[1]!.id > events[0]!.id);
      } finally {
        await raw.end();
      }
    });
  },
});

Deno.test({
  name:
    "[postgres] an id whose transaction rolled back is skipped, not waited for",
  ignore: pg.skip !== undefined,
  async fn() {
    await twoInstances(async (a, b, url) => {
      const start = await b.lastEventId();
      const raw = postgres(url, { max: 1, onnotice() {} });
      try {
        const conn = await raw.reserve();
        await conn`BEGIN`;
        await conn`INSERT INTO events (type, data, created_at)
          VALUES ('test.lost', '{}', now())`;
        await a.createMenuItem(item("Grissini"));
        await conn`ROLLBACK`;
        conn.release();
        const events = await b.listEvents(start);
        assert.deepEqual(events.map((e) => e.type), ["menu.updated"]);
        assert.equal(await b.lastEventId(), events[0]!.id);
      } finally {
        await raw.end();
      }
    });
  },
});
