/**
 * Orders racing with cancels (issue 24, defect 3), over HTTP on every
 * backend: the final stock is the initial stock less exactly what the live
 * orders took, counted from the answers alone. Orders for an item placed
 * while it was untracked are cancelled in the middle of the rush and give
 * nothing back; every cancel is sent twice at once and succeeds once.
 */
import assert from "node:assert/strict";
import { jsonReq, type TestCtx, testEachBackend as test } from "./_helpers.ts";

const ORDERS = 150;
const CLIENTS = 10;
const EARLY = 20;
const CAKE_STOCK = 120;
const SOUP_STOCK = 30;

/** A seeded generator, so a failure can be replayed. */
function lcg(seed: number) {
  let s = seed >>> 0;
  return (n: number) => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return Math.floor(s / 2 ** 32 * n); // high bits: the low ones cycle
  };
}

async function post(t: TestCtx, path: string, body: unknown) {
  const res = await t.app.request(path, jsonReq("POST", body));
  return { status: res.status, json: await res.json() };
}

/** Sends the same cancel twice at once; resolves to how many got 200. */
async function cancelTwice(t: TestCtx, id: number): Promise<number> {
  const both = await Promise.all([0, 1].map(async () => {
    const res = await t.app.request(
      `/orders/${id}`,
      jsonReq("PATCH", { status: "cancelled" }),
    );
    await res.body?.cancel();
    assert.ok(res.status === 200 || res.status === 409, `${res.status}`);
    return res.status === 200 ? 1 : 0;
  }));
  return both[0]! + both[1]!;
}

interface Plan {
  items: { menu_item_id: number; quantity: number }[];
  cancel: boolean;
}

/**
 * CLIENTS cashiers place `plans` one after another each, all at once; an
 * order planned to be cancelled is cancelled (twice at once) without waiting,
 * racing its client's next orders. Resolves to the stock the orders still
 * live took, per item, and how many were cancelled.
 */
async function rush(t: TestCtx, plans: Plan[], alsoCancel: number[]) {
  const taken = new Map<number, number>();
  let cancelled = 0;
  const cancels: Promise<void>[] = [];
  const place = async (plan: Plan) => {
    const placed = await post(t, "/orders", { items: plan.items });
    if (placed.status === 409) {
      // Sold out: short of stock, or at 0 and so unavailable.
      assert.match(placed.json.error.code, /^(out_of_stock|item_unavailable)$/);
      return;
    }
    assert.equal(placed.status, 200, JSON.stringify(placed.json));
    if (!plan.cancel) {
      for (const l of plan.items) {
        taken.set(
          l.menu_item_id,
          (taken.get(l.menu_item_id) ?? 0) + l.quantity,
        );
      }
      return;
    }
    cancels.push(
      cancelTwice(t, placed.json.id).then((n) => {
        assert.equal(n, 1);
        cancelled++;
      }),
    );
  };
  const clients = Array.from({ length: CLIENTS }, async (_, c) => {
    for (let i = c; i < plans.length; i += CLIENTS) await place(plans[i]!);
  });
  // Meanwhile `alsoCancel` are cancelled one by one.
  const late = (async () => {
    for (const id of alsoCancel) assert.equal(await cancelTwice(t, id), 1);
  })();
  await Promise.all([...clients, late]);
  await Promise.all(cancels);
  return { taken, cancelled };
}

test("orders racing with cancels leave exactly the stock the live orders took", async (t) => {
  const rand = lcg(24);
  const cake = (await post(t, "/menu", {
    name: "Cake",
    price: 4,
    stock: CAKE_STOCK,
  })).json.id as number;
  const soup = (await post(t, "/menu", { name: "Soup", price: 5 })).json
    .id as number;

  // Soup is untracked for these orders: they take nothing.
  const early = await Promise.all(
    Array.from({ length: EARLY }, () =>
      post(t, "/orders", {
        items: [{ menu_item_id: soup, quantity: 1 + rand(3) }],
      })),
  );
  assert.ok(early.every((r) => r.status === 200));
  const put = await t.app.request(
    `/menu/${soup}`,
    jsonReq("PUT", { stock: SOUP_STOCK }),
  );
  assert.equal(put.status, 200);
  await put.body?.cancel();

  const plans = Array.from({ length: ORDERS }, (_, i): Plan => {
    const items = [{ menu_item_id: cake, quantity: 1 + rand(3) }];
    if (i % 3 === 0) items.push({ menu_item_id: soup, quantity: 1 });
    return { items, cancel: rand(2) === 0 };
  });
  const { taken, cancelled } = await rush(
    t,
    plans,
    early.map((r) => r.json.id),
  );

  assert.ok(cancelled > 0 && taken.get(cake)! > 0 && taken.get(soup)! > 0);
  for (const [id, initial] of [[cake, CAKE_STOCK], [soup, SOUP_STOCK]]) {
    const item = await t.store.getMenuItem(id!);
    assert.equal(item?.stock, initial! - taken.get(id!)!, `item ${id}`);
    assert.equal(item?.available, item!.stock! > 0, `item ${id}`);
  }
});
