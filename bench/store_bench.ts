/**
 * Placing orders through the libSQL store: group commit against one
 * transaction per order (the same writer with batches of one), both durable
 * (WAL, synchronous=FULL). Each iteration places 500 concurrent orders, so
 * orders/s = 500 / (time per iteration).
 */
import { openLibsqlStore } from "../db/libsql/store.ts";
import type { Store } from "../db/store.ts";

const CONCURRENT = 500;

async function setup(
  maxBatch: number,
): Promise<{ store: Store; items: number[]; dir: string }> {
  const dir = await Deno.makeTempDir({ prefix: "forkflow-bench-" });
  const store = await openLibsqlStore(`file:${dir}/bench.db`, { maxBatch });
  const items = [];
  for (
    const [i, stock] of [[1, null], [2, null], [3, 1_000_000_000]] as const
  ) {
    const m = await store.createMenuItem({
      name: `Dish ${i}`,
      description: "",
      priceCents: 1000 + i,
      category: "Mains",
      available: true,
      stock,
    });
    items.push(m.id);
  }
  return { store, items, dir };
}

let seq = 0;
function placeMany(store: Store, items: number[], keyed: boolean) {
  return Promise.all(Array.from({ length: CONCURRENT }, () => {
    const n = seq++;
    return store.placeOrder(
      {
        items: [{ menuItemId: items[0]!, quantity: 2 }, {
          menuItemId: items[2]!,
          quantity: 1,
        }],
        notes: `bench ${n}`,
      },
      keyed
        ? { idempotency: { scope: "bench", key: `k${n}`, fingerprint: "f" } }
        : {},
    );
  }));
}

const group = await setup(512);
const single = await setup(1);

Deno.bench({
  name: "group commit: 500 concurrent orders (tracked stock + idempotency key)",
  group: "place 500 orders",
  baseline: true,
  async fn() {
    await placeMany(group.store, group.items, true);
  },
});

Deno.bench({
  name: "one transaction per order: 500 concurrent orders (same work)",
  group: "place 500 orders",
  async fn() {
    await placeMany(single.store, single.items, true);
  },
});

Deno.bench({
  name: "group commit: 500 concurrent orders without idempotency key",
  group: "place 500 orders",
  async fn() {
    await placeMany(group.store, group.items, false);
  },
});

globalThis.addEventListener("unload", () => {
  for (const s of [group, single]) {
    s.store.close().finally(() => Deno.removeSync(s.dir, { recursive: true }));
  }
});
