/**
 * The documented numeric limits hold on every write path of both backends
 * (issue 24, defect 5): a change that would pass a limit is a 409 or 422
 * naming it, never a 500, and nothing outside the range is ever stored.
 */
import assert from "node:assert/strict";
import { MAX_QUANTITY } from "../domain/schemas.ts";
import { ConflictError, ValidationError } from "../domain/errors.ts";
import { openVending } from "../db/vending_open.ts";
import type { PostgresStore } from "../db/postgres/store.ts";
import { postgresTestBackend } from "./_postgres.ts";
import { LibsqlStore, openLibsqlStore } from "../db/libsql/store.ts";
import { MAX_INT } from "../domain/vending_rules.ts";
import {
  addItem,
  backends,
  jsonReq,
  testConfig,
  type TestCtx,
  testEachBackend as test,
} from "./_helpers.ts";

const inventory = async (t: TestCtx) => {
  const res = await t.app.request(
    "/inventory",
    jsonReq("POST", { name: "Flour", quantity: MAX_QUANTITY, unit: "g" }),
  );
  assert.equal(res.status, 201);
  return (await res.json()).id as number;
};

test("PATCH /inventory {delta} past the maximum is a 409 naming the limit, twice", async (t) => {
  const id = await inventory(t);
  for (let i = 0; i < 2; i++) {
    const res = await t.app.request(
      `/inventory/${id}`,
      jsonReq("PATCH", { delta: MAX_QUANTITY }),
    );
    assert.equal(res.status, 409);
    const err = (await res.json()).error;
    assert.equal(err.code, "inventory_limit");
    assert.match(err.message, /cannot hold more than 1000000000 g/);
    assert.equal(err.details.max, MAX_QUANTITY);
  }
  const [item] = await t.store.listInventory();
  assert.equal(item!.quantity, MAX_QUANTITY);
  const one = await t.app.request(
    `/inventory/${id}`,
    jsonReq("PATCH", { delta: 1 }),
  );
  assert.equal(one.status, 409, "one past the limit is refused too");
  const down = await t.app.request(
    `/inventory/${id}`,
    jsonReq("PATCH", { delta: -MAX_QUANTITY }),
  );
  assert.equal(down.status, 200, "down to exactly zero is allowed");
  assert.equal((await down.json()).quantity, 0);
});

test("changeInventory() refuses in the store what the route would refuse", async (t) => {
  const item = await t.store.createInventoryItem({
    name: "Salt",
    quantity: MAX_QUANTITY - 5,
    unit: "g",
    lowThreshold: null,
  });
  await assert.rejects(
    t.store.changeInventory(item.id, { delta: 6 }),
    (e) => e instanceof ConflictError && e.code === "inventory_limit",
  );
  const ok = await t.store.changeInventory(item.id, { delta: 5 });
  assert.equal(ok.quantity, MAX_QUANTITY);
  for (
    const change of [
      { delta: 2 ** 53 },
      { delta: 1.5 },
      { quantity: MAX_QUANTITY + 1 },
      { quantity: -1 },
      { lowThreshold: 1e308 },
    ]
  ) {
    await assert.rejects(
      t.store.changeInventory(item.id, change),
      (e) => e instanceof ValidationError && e.code === "out_of_range",
      JSON.stringify(change),
    );
  }
  await assert.rejects(
    t.store.createInventoryItem({
      name: "Pepper",
      quantity: 3e9,
      unit: "g",
      lowThreshold: null,
    }),
    (e) => e instanceof ValidationError && /"quantity"/.test(e.message),
  );
  assert.deepEqual(
    (await t.store.listInventory()).map((i) => i.quantity),
    [MAX_QUANTITY],
  );
});

test("concurrent deltas never carry inventory past its maximum", async (t) => {
  const id = await inventory(t);
  await t.store.changeInventory(id, { quantity: MAX_QUANTITY - 10 });
  const codes = await Promise.all(
    Array.from({ length: 20 }, async () => {
      const r = await t.app.request(
        `/inventory/${id}`,
        jsonReq("PATCH", { delta: 1 }),
      );
      await r.body?.cancel();
      return r.status;
    }),
  );
  assert.equal(codes.filter((c) => c === 200).length, 10);
  assert.equal(codes.filter((c) => c === 409).length, 10);
  const [item] = await t.store.listInventory();
  assert.equal(item!.quantity, MAX_QUANTITY);
});

test("menu stock and prices past their limits are refused by the store", async (t) => {
  const id = await addItem(t.store, { stock: 5 });
  for (
    const patch of [
      { stock: MAX_QUANTITY + 1 },
      { stock: 2 ** 31 },
      { priceCents: 10_000_001 },
      { priceCents: 0.5 },
    ]
  ) {
    await assert.rejects(
      t.store.updateMenuItem(id, patch),
      (e) => e instanceof ValidationError && e.code === "out_of_range",
      JSON.stringify(patch),
    );
  }
  await assert.rejects(
    addItem(t.store, { stock: 1e308 }),
    (e) => e instanceof ValidationError && /"stock"/.test(e.message),
  );
  assert.equal((await t.store.getMenuItem(id))!.stock, 5);
  assert.equal((await t.store.listMenu()).length, 1);
});

test("cancelling an order never gives back stock past the maximum", async (t) => {
  const id = await addItem(t.store, { stock: MAX_QUANTITY });
  const placed = await t.app.request(
    "/orders",
    jsonReq("POST", { items: [{ menu_item_id: id, quantity: 100 }] }),
  );
  assert.equal(placed.status, 200);
  const order = await placed.json();
  await t.store.updateMenuItem(id, { stock: MAX_QUANTITY });
  const res = await t.app.request(
    `/orders/${order.id}`,
    jsonReq("PATCH", { status: "cancelled" }),
  );
  assert.equal(res.status, 200);
  await res.body?.cancel();
  assert.equal((await t.store.getMenuItem(id))!.stock, MAX_QUANTITY);
});

test("vending product stock past the integer column is a Laravel 422", async (t) => {
  const vending = openVending(t.store, t.config);
  await assert.rejects(
    vending.createProduct({ name: "Cola", stock: 2 ** 31 }),
    (e) => e instanceof ValidationError && e.code === "validation_failed",
  );
  const p = await vending.createProduct({ name: "Cola", stock: 1 });
  await assert.rejects(
    vending.setProductStock(p.id, 1e308),
    (e) => e instanceof ValidationError && e.code === "validation_failed",
  );
  const res = await t.app.request(
    `/api/products/${p.id}/stock`,
    jsonReq("PATCH", { stock: 2 ** 31 }),
  );
  assert.equal(res.status, 422);
  assert.deepEqual(Object.keys((await res.json()).errors), ["stock"]);
  assert.equal((await vending.getProduct(p.id))!.stock, 1);
});

const pg = postgresTestBackend();
Deno.test({
  name: "[postgres] integer out of range (22003) is translated to a 422 in db/",
  ignore: pg.skip !== undefined,
  async fn() {
    const db = await pg.open();
    try {
      const store = db.store as PostgresStore;
      const outOfRange = (e: unknown) =>
        e instanceof ValidationError && e.code === "value_out_of_range";
      await assert.rejects(
        store.read((sql) => sql`SELECT 2147483647::int + 1`),
        outOfRange,
      );
      await assert.rejects(
        store.transaction((tx) =>
          tx.sql`INSERT INTO inventory_items (name, quantity, unit, created_at, updated_at)
            VALUES ('Rice', ${3e9}, 'g', now(), now())`
        ),
        outOfRange,
      );
      assert.deepEqual(await store.listInventory(), []);
    } finally {
      await db.cleanup();
    }
  },
});

/** A machine at the largest usage_count, its vend over: raw SQL per backend. */
const SATURATED: Record<string, string> = {
  libsql:
    "UPDATE vending_machines SET usage_count = 2147483647, status = 'processing', busy_until = 1",
  postgres:
    "UPDATE vending_machines SET usage_count = 2147483647, status = 'processing', busy_until = now() - interval '1 second'",
};

const RUNNING: Record<string, string> = {
  libsql: "busy_until = 4102444800000",
  postgres: "busy_until = now() + interval '1 hour'",
};

for (const backend of backends()) {
  Deno.test({
    name:
      `[${backend.name}] usage_count stops at the integer column's maximum instead of failing every claim`,
    ignore: backend.skip !== undefined,
    async fn() {
      const dir = await Deno.makeTempDir({ prefix: "forkflow-bounds-" });
      const db = backend.name === "postgres" ? await backend.open() : null;
      // The libSQL store runs in this thread here, so the test can write raw SQL.
      const store = db?.store ?? await openLibsqlStore(`file:${dir}/t.db`);
      const raw = (sql: string) =>
        store instanceof LibsqlStore
          ? store.write((tx) => tx.run(sql))
          : (store as PostgresStore).transaction((tx) => tx.sql.unsafe(sql));
      try {
        const vending = openVending(store, testConfig());
        const m = await vending.createMachine("A");
        await raw(SATURATED[backend.name]!);
        assert.equal((await vending.getMachine(m.id))!.usageCount, MAX_INT);
        const claimed = await vending.startWork();
        assert.equal(claimed.id, m.id);
        assert.equal(claimed.usageCount, MAX_INT);
        // Mid-vend (lease running): a reset counts the vend.
        await raw(
          SATURATED[backend.name]!.replace(
            /busy_until = .*/,
            RUNNING[backend.name]!,
          ),
        );
        const reset = await vending.resetMachine(m.id);
        assert.equal(reset.usageCount, MAX_INT);
      } finally {
        await (db ? db.cleanup() : store.close());
        await Deno.remove(dir, { recursive: true });
      }
    },
  });
}
