/**
 * Order groups are spaced in a rush and not otherwise: the pacer's rule, and
 * both stores that follow it (orders placed one after another are not held;
 * a group after a busy one waits; a store closing with a group held places it
 * at once; concurrent orders under pacing are each there exactly once).
 */
import assert from "node:assert/strict";
import { GroupPacer } from "../db/group_pacer.ts";
import { openLibsqlStore } from "../db/libsql/store.ts";
import { openPostgresStore } from "../db/postgres/store.ts";
import type { Store } from "../db/store.ts";
import { postgresTestBackend } from "./_postgres.ts";

Deno.test("the pacer holds only a group that follows a group of two or more", () => {
  const p = new GroupPacer(1000);
  assert.equal(p.delay(), 0, "nothing ran yet");
  p.started(1);
  assert.equal(p.delay(), 0, "after a lone order");
  p.started(2);
  const d = p.delay();
  assert.ok(d > 900 && d <= 1000, `${d} ms`);
  p.stop();
  assert.equal(p.delay(), 0, "stopped");
  const off = new GroupPacer(0);
  off.started(50);
  assert.equal(off.delay(), 0, "interval 0 turns pacing off");
});

Deno.test("a pacer's wait ends when it is stopped", async () => {
  const p = new GroupPacer(60_000);
  p.started(2);
  const t0 = performance.now();
  const waited = p.wait();
  p.stop();
  await waited;
  assert.ok(performance.now() - t0 < 1000);
});

/** A store with the given interval, and a second one on the same database. */
interface Opened {
  store: Store;
  reopen(): Promise<Store>;
  done(): Promise<void>;
}

/** Stores from `open`, the first with the interval; all closed before `cleanup`. */
async function opened(
  open: (opts: { groupIntervalMs?: number }) => Promise<Store>,
  groupIntervalMs: number,
  cleanup: () => Promise<void>,
): Promise<Opened> {
  const all = [await open({ groupIntervalMs })];
  return {
    store: all[0]!,
    async reopen() {
      all.push(await open({}));
      return all.at(-1)!;
    },
    async done() {
      for (const s of all) await s.close();
      await cleanup();
    },
  };
}

const pg = postgresTestBackend();
const backends: {
  name: string;
  skip?: string;
  open(groupIntervalMs: number): Promise<Opened>;
}[] = [{
  name: "libsql",
  async open(groupIntervalMs) {
    const dir = await Deno.makeTempDir({ prefix: "forkflow-pacer-" });
    return opened(
      (opts) => openLibsqlStore(`file:${dir}/p.db`, opts),
      groupIntervalMs,
      () => Deno.remove(dir, { recursive: true }),
    );
  },
}, {
  name: "postgres",
  skip: pg.skip,
  async open(groupIntervalMs) {
    const db = await pg.open();
    return opened(
      (opts) => openPostgresStore(db.url, opts),
      groupIntervalMs,
      () => db.cleanup(),
    );
  },
}];

function test(
  name: string,
  groupIntervalMs: number,
  fn: (o: Opened) => Promise<void>,
) {
  for (const b of backends) {
    Deno.test({
      name: `[${b.name}] ${name}`,
      ignore: b.skip !== undefined,
      async fn() {
        const o = await b.open(groupIntervalMs);
        try {
          await fn(o);
        } finally {
          await o.done();
        }
      },
    });
  }
}

async function dish(s: Store, stock: number | null = null) {
  const m = await s.createMenuItem({
    name: "Risotto",
    description: "",
    priceCents: 1400,
    category: "Mains",
    available: true,
    stock,
  });
  return m.id;
}

const order = (s: Store, id: number, note: string) =>
  s.placeOrder({ items: [{ menuItemId: id, quantity: 1 }], notes: note });

test(
  "orders placed one after another are not held",
  2000,
  async ({ store }) => {
    const id = await dish(store);
    const t0 = performance.now();
    for (let i = 0; i < 5; i++) await order(store, id, `seq ${i}`);
    // Paced, the last four would each wait 2 s.
    assert.ok(performance.now() - t0 < 1500, "sequential orders were held");
  },
);

test(
  "in a rush, the next group starts no sooner than the interval after the last",
  300,
  async ({ store }) => {
    const id = await dish(store);
    const t0 = performance.now();
    await Promise.all([order(store, id, "a"), order(store, id, "b")]);
    await order(store, id, "c");
    const took = performance.now() - t0;
    assert.ok(
      took >= 290,
      `the group after a busy one started after ${took} ms`,
    );
  },
);

test(
  "a store closing while a group is held places it at once",
  60_000,
  async ({ store, reopen }) => {
    const id = await dish(store);
    await Promise.all([order(store, id, "first"), order(store, id, "second")]);
    const held = order(store, id, "held");
    const t0 = performance.now();
    await store.close();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const placed = await Promise.race([
      held,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error("the held order was never answered")),
          5000,
        );
      }),
    ]).finally(() => clearTimeout(timer));
    assert.ok(performance.now() - t0 < 5000, "close waited out the interval");
    const again = await reopen();
    assert.equal((await again.getOrder(placed.orderId))?.notes, "held");
  },
);

test(
  "concurrent orders under pacing: every acknowledged order exactly once, stock exact",
  5,
  async ({ store }) => {
    const id = await dish(store, 1000);
    const waves = 6, perWave = 150;
    const acked: number[] = [];
    for (let w = 0; w < waves; w++) {
      const placed = await Promise.all(
        Array.from(
          { length: perWave },
          (_, i) => order(store, id, `w${w} #${i}`),
        ),
      );
      acked.push(...placed.map((p) => p.orderId));
    }
    assert.equal(new Set(acked).size, waves * perWave, "an id twice");
    const all = await store.listOrders({ limit: 5000 });
    assert.equal(all.length, waves * perWave);
    assert.deepEqual(
      new Set(all.map((o) => o.id)),
      new Set(acked),
      "stored orders are the acknowledged ones",
    );
    assert.equal((await store.getMenuItem(id))?.stock, 1000 - waves * perWave);
  },
);
