/**
 * Order groups are spaced in a rush and not otherwise: the pacer's rule, and
 * the libSQL store that follows it (orders placed one after another are not
 * held; a group after a busy one waits; a store closing with a group held
 * places it; concurrent orders under pacing are each there exactly once).
 */
import assert from "node:assert/strict";
import { GroupPacer } from "../db/group_pacer.ts";
import { type LibsqlStore, openLibsqlStore } from "../db/libsql_store.ts";

Deno.test("the pacer holds only a group that follows a group of two or more", () => {
  const p = new GroupPacer(1000);
  assert.equal(p.delay(), 0, "nothing ran yet");
  p.started(1);
  assert.equal(p.delay(), 0, "after a lone order");
  p.started(2);
  const d = p.delay();
  assert.ok(d > 900 && d <= 1000, `${d} ms`);
  assert.equal(new GroupPacer(0).delay(), 0);
  const off = new GroupPacer(0);
  off.started(50);
  assert.equal(off.delay(), 0, "interval 0 turns pacing off");
});

async function withStore(
  groupIntervalMs: number,
  fn: (s: LibsqlStore, reopen: () => Promise<LibsqlStore>) => Promise<void>,
) {
  const dir = await Deno.makeTempDir({ prefix: "forkflow-pacer-" });
  const url = `file:${dir}/p.db`;
  const s = await openLibsqlStore(url, { groupIntervalMs });
  const opened: LibsqlStore[] = [s];
  try {
    await fn(s, async () => {
      const again = await openLibsqlStore(url);
      opened.push(again);
      return again;
    });
  } finally {
    for (const o of opened) await o.close();
    await Deno.remove(dir, { recursive: true });
  }
}

async function dish(s: LibsqlStore, stock: number | null = null) {
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

const order = (s: LibsqlStore, id: number, note: string) =>
  s.placeOrder({ items: [{ menuItemId: id, quantity: 1 }], notes: note });

Deno.test("orders placed one after another are not held", async () => {
  await withStore(2000, async (s) => {
    const id = await dish(s);
    const t0 = performance.now();
    for (let i = 0; i < 5; i++) await order(s, id, `seq ${i}`);
    // Paced, the last four would each wait 2 s.
    assert.ok(performance.now() - t0 < 1500, "sequential orders were held");
  });
});

Deno.test("in a rush, the next group starts no sooner than the interval after the last", async () => {
  await withStore(300, async (s) => {
    const id = await dish(s);
    const t0 = performance.now();
    await Promise.all([order(s, id, "a"), order(s, id, "b")]);
    await order(s, id, "c");
    const took = performance.now() - t0;
    assert.ok(
      took >= 290,
      `the group after a busy one started after ${took} ms`,
    );
  });
});

Deno.test("a store closing while a group is held places it before it stops", async () => {
  await withStore(60_000, async (s, reopen) => {
    const id = await dish(s);
    await Promise.all([order(s, id, "first"), order(s, id, "second")]);
    const held = order(s, id, "held");
    const t0 = performance.now();
    await s.close();
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
    const found = await again.getOrder(placed.orderId);
    assert.equal(found?.notes, "held");
  });
});

Deno.test("concurrent orders under pacing: every acknowledged order exactly once, stock exact", async () => {
  await withStore(5, async (s) => {
    const id = await dish(s, 1000);
    const waves = 6, perWave = 150;
    const acked: number[] = [];
    for (let w = 0; w < waves; w++) {
      const placed = await Promise.all(
        Array.from(
          { length: perWave },
          (_, i) => order(s, id, `w${w} #${i}`),
        ),
      );
      acked.push(...placed.map((p) => p.orderId));
    }
    assert.equal(new Set(acked).size, waves * perWave, "an id twice");
    const all = await s.listOrders({ limit: 5000 });
    assert.equal(all.length, waves * perWave);
    assert.deepEqual(
      new Set(all.map((o) => o.id)),
      new Set(acked),
      "stored orders are the acknowledged ones",
    );
    const item = await s.getMenuItem(id);
    assert.equal(item?.stock, 1000 - waves * perWave);
  });
});
