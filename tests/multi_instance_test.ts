/** Two real server processes on one PostgreSQL database: the kitchen feed fans out across them, and one key sent to both makes one order. */
import assert from "node:assert/strict";
import { type SseMessage, SseReader } from "../kitchen/sse_client.ts";
import {
  postgresTestBackend,
  type ServerProcess,
  startServer,
} from "./_postgres.ts";

const pg = postgresTestBackend();

async function json<T>(res: Response): Promise<T> {
  assert.ok(res.ok, `${res.status} ${res.url}`);
  return await res.json() as T;
}

/** Opens B's live feed and waits for its `ready` message. */
async function openFeed(base: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${base}/kitchen/events`, { headers });
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type")!, /^text\/event-stream/);
  return new SseReader(res.body!);
}

/** Fails instead of hanging when `p` does not settle within `ms`. */
async function within<T>(p: Promise<T>, what: string, ms = 10_000): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out: ${what}`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

const orderId = (m: SseMessage) =>
  m.event === "order.created" ? (JSON.parse(m.data) as { id: number }).id : -1;

async function placeOrder(base: string, menuItemId: number, key: string) {
  const res = await fetch(`${base}/orders`, {
    method: "POST",
    headers: { "content-type": "application/json", "idempotency-key": key },
    body: JSON.stringify({
      items: [{ menu_item_id: menuItemId, quantity: 1 }],
    }),
  });
  return (await json<{ id: number }>(res)).id;
}

Deno.test({
  name:
    "[postgres] an order placed on instance A appears exactly once on instance B's /kitchen/events",
  ignore: pg.skip !== undefined,
  sanitizeResources: false, // child processes' pipes close after the test body
  async fn() {
    const db = await pg.open();
    await db.store.close(); // the two servers are the only clients
    const instances: ServerProcess[] = [];
    const readers: SseReader[] = [];
    try {
      const a = await startServer({ DATABASE_URL: db.url, DEMO_DATA: "1" });
      instances.push(a);
      const b = await startServer({ DATABASE_URL: db.url, DEMO_DATA: "0" });
      instances.push(b);

      // B sees A's demo menu: one database.
      const menu = await json<{ id: number; stock: number | null }[]>(
        await fetch(`${b.base}/menu`),
      );
      assert.ok(menu.length > 0, "demo menu seeded by A, read through B");
      const dish = menu.find((m) => m.stock === null)!;

      const live = await openFeed(b.base);
      readers.push(live);
      await within(live.until((m) => m.event === "ready"), "B's feed ready");

      const first = await placeOrder(a.base, dish.id, crypto.randomUUID());
      const firstMsg = await within(
        live.until((m) => orderId(m) === first),
        "A's order on B's stream",
      );
      assert.ok(firstMsg, "the order reached B's stream");
      // A marker order after it: everything B sends up to the marker is checked for duplicates.
      const marker = await placeOrder(a.base, dish.id, crypto.randomUUID());
      const between: SseMessage[] = [];
      await within(
        live.until((m) => {
          between.push(m);
          return orderId(m) === marker;
        }),
        "the marker order on B's stream",
      );
      assert.equal(between.filter((m) => orderId(m) === first).length, 0);
      assert.ok(Number(firstMsg!.id) > 0, "messages carry the events table id");

      // Reconnecting to B with Last-Event-ID replays the order once, from the log.
      const replay = await openFeed(b.base, {
        "Last-Event-ID": String(Number(firstMsg!.id) - 1),
      });
      readers.push(replay);
      const replayed: SseMessage[] = [];
      await within(
        replay.until((m) => {
          replayed.push(m);
          return orderId(m) === marker;
        }),
        "the replay from B's log",
      );
      assert.equal(replayed.filter((m) => orderId(m) === first).length, 1);
    } finally {
      for (const r of readers) await r.cancel();
      for (const i of instances) await i.stop();
      await db.cleanup();
    }
  },
});

Deno.test({
  name:
    "[postgres] the same keys sent to two instances at once make each order once and take its stock once",
  ignore: pg.skip !== undefined,
  sanitizeResources: false, // child processes' pipes close after the test body
  async fn() {
    const db = await pg.open();
    const item = await db.store.createMenuItem({
      name: "Twice Soup",
      description: "",
      priceCents: 500,
      category: "Starters",
      available: true,
      stock: 1_000,
    });
    await db.store.close(); // the two servers are the only clients
    const instances: ServerProcess[] = [];
    try {
      instances.push(await startServer({ DATABASE_URL: db.url }));
      instances.push(await startServer({ DATABASE_URL: db.url }));
      const keys = Array.from({ length: 300 }, () => crypto.randomUUID());
      // Every key goes to both instances in the same moment, in both orders.
      const answers = await within(
        Promise.all(
          keys.flatMap((k, i) => {
            const [x, y] = i % 2 ? instances : [...instances].reverse();
            return [
              placeOrder(x!.base, item.id, k),
              placeOrder(y!.base, item.id, k),
            ];
          }),
        ),
        "600 racing orders",
        60_000,
      );
      for (let i = 0; i < keys.length; i++) {
        assert.equal(answers[2 * i], answers[2 * i + 1], `key ${keys[i]}`);
      }
      assert.equal(new Set(answers).size, keys.length);
      const menu = await json<{ id: number; stock: number }>(
        await fetch(`${instances[0]!.base}/menu/${item.id}`),
      );
      assert.equal(menu.stock, 1_000 - keys.length);
      const orders = await json<{ id: number }[]>(
        await fetch(`${instances[1]!.base}/orders?limit=1000`),
      );
      assert.deepEqual(
        orders.map((o) => o.id).sort((a, b) => a - b),
        [...new Set(answers)].sort((a, b) => a - b),
      );
    } finally {
      for (const i of instances) await i.stop();
      await db.cleanup();
    }
  },
});
