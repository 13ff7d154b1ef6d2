/** The Store contract: one suite that every backend must pass. */
import assert from "node:assert/strict";
import {
  ConflictError,
  NotFoundError,
  PreconditionFailedError,
  ValidationError,
} from "../domain/errors.ts";
import type { Store } from "../db/store.ts";
import { orderJson } from "../domain/wire.ts";
import type { TestBackend } from "./_helpers.ts";

const menuInput = (name: string, over: Record<string, unknown> = {}) => ({
  name,
  description: "",
  priceCents: 500,
  category: "Mains",
  available: true,
  stock: null,
  ...over,
});
const idem = (key: string, fingerprint = "f1") => ({
  scope: "test",
  key,
  fingerprint,
});

/** Registers the contract tests for one backend. */
export function storeContract(backend: TestBackend): void {
  const test = (name: string, fn: (s: Store) => Promise<void>) =>
    Deno.test({
      name: `[${backend.name}] Store ${name}`,
      ignore: backend.skip !== undefined,
      async fn() {
        const db = await backend.open();
        try {
          await fn(db.store);
        } finally {
          await db.cleanup();
        }
      },
    });

  test("createMenuItem() and updateMenuItem() round-trip and refuse duplicate names", async (s) => {
    const a = await s.createMenuItem(menuInput("Ravioli", { stock: 4 }));
    assert.equal(a.stock, 4);
    assert.equal((await s.getMenuItem(a.id))?.name, "Ravioli");
    await assert.rejects(s.createMenuItem(menuInput("RAVIOLI")), ConflictError);
    const b = await s.updateMenuItem(a.id, {
      priceCents: 725,
      available: false,
    });
    assert.deepEqual([b.priceCents, b.available, b.name], [
      725,
      false,
      "Ravioli",
    ]);
    assert.ok(b.updatedAt >= a.updatedAt);
    await assert.rejects(
      s.updateMenuItem(999_999, { priceCents: 1 }),
      NotFoundError,
    );
    assert.equal(await s.getMenuItem(999_999), null);
  });

  test("placeOrder() prices lines, takes stock and appends exactly one order.created", async (s) => {
    const a = await s.createMenuItem(
      menuInput("Lasagne", { priceCents: 1350, stock: 3 }),
    );
    const before = await s.lastEventId();
    const placed = await s.placeOrder({
      items: [{ menuItemId: a.id, quantity: 2 }, {
        name: "Tap water",
        quantity: 1,
      }],
      table: "4",
    });
    assert.equal(placed.replayed, false);
    const order = (await s.getOrder(placed.orderId))!;
    assert.deepEqual(
      placed.body,
      orderJson(order),
      "the answer is what was stored",
    );
    assert.equal(order.totalCents, 2700);
    assert.deepEqual(order.items.map((l) => l.unitPriceCents), [1350, null]);
    assert.equal((await s.getMenuItem(a.id))?.stock, 1);
    const events = await s.listEvents(before);
    assert.deepEqual(events.map((e) => e.type), ["order.created"]);
    assert.equal((events[0]!.data as { id: number }).id, order.id);
  });

  test("a refused order writes nothing: no order, no stock, no event", async (s) => {
    const a = await s.createMenuItem(menuInput("Fish", { stock: 1 }));
    const b = await s.createMenuItem(menuInput("Chips", { stock: 5 }));
    const before = await s.lastEventId();
    await assert.rejects(
      s.placeOrder({
        items: [{ menuItemId: b.id, quantity: 2 }, {
          menuItemId: a.id,
          quantity: 2,
        }],
      }),
      (e: unknown) => e instanceof ConflictError && e.code === "out_of_stock",
    );
    await assert.rejects(
      s.placeOrder({ items: [{ menuItemId: 424242, quantity: 1 }] }),
      ValidationError,
    );
    assert.equal((await s.getMenuItem(b.id))?.stock, 5);
    assert.equal((await s.listOrders({ limit: 10 })).length, 0);
    assert.equal(await s.lastEventId(), before);
  });

  test("placeOrder() with a key: replays the stored status and body, 422 on another body", async (s) => {
    const a = await s.createMenuItem(menuInput("Gelato", { stock: 10 }));
    const opts = {
      idempotency: idem("k1"),
      status: 201,
      view: "bistro" as const,
    };
    const first = await s.placeOrder({
      items: [{ menuItemId: a.id, quantity: 1 }],
    }, opts);
    const again = await s.placeOrder({
      items: [{ menuItemId: a.id, quantity: 1 }],
    }, opts);
    assert.deepEqual([first.status, first.replayed], [201, false]);
    assert.deepEqual([again.status, again.replayed, again.body], [
      201,
      true,
      first.body,
    ]);
    assert.equal(again.orderId, first.orderId);
    assert.deepEqual(Object.keys(first.body as object).sort(), [
      "created_at",
      "id",
      "items",
      "table",
    ]);
    await assert.rejects(
      s.placeOrder({ items: [{ menuItemId: a.id, quantity: 1 }] }, {
        idempotency: idem("k1", "f2"),
      }),
      (e: unknown) =>
        e instanceof ValidationError && e.code === "idempotency_key_reused",
    );
    const other = await s.placeOrder({
      items: [{ menuItemId: a.id, quantity: 1 }],
    }, {
      idempotency: { ...idem("k1"), scope: "other" },
    });
    assert.equal(other.replayed, false, "keys are scoped by route");
    assert.equal((await s.getMenuItem(a.id))?.stock, 8);
  });

  test("setOrderStatus() follows the lifecycle, checks versions, restores stock on cancel", async (s) => {
    const a = await s.createMenuItem(menuInput("Steak", { stock: 1 }));
    const { orderId } = await s.placeOrder({
      items: [{ menuItemId: a.id, quantity: 1 }],
    });
    assert.equal((await s.getMenuItem(a.id))?.available, false);
    const moved = await s.setOrderStatus(orderId, "in_progress", {
      ifVersion: 1,
    });
    assert.deepEqual([moved.status, moved.version], ["in_progress", 2]);
    await assert.rejects(
      s.setOrderStatus(orderId, "ready", { ifVersion: 1 }),
      PreconditionFailedError,
    );
    await assert.rejects(s.setOrderStatus(orderId, "completed"), ConflictError);
    await assert.rejects(s.setOrderStatus(999_999, "ready"), NotFoundError);
    await s.setOrderStatus(orderId, "cancelled");
    const item = await s.getMenuItem(a.id);
    assert.deepEqual([item?.stock, item?.available], [1, true]);
    const types = (await s.listEvents(0)).map((e) => e.type);
    assert.deepEqual(types.filter((t) => t.startsWith("order.")), [
      "order.created",
      "order.updated",
      "order.updated",
    ]);
  });

  test("listOrders() pages newest first by id and filters; listActiveOrders() oldest first", async (s) => {
    const a = await s.createMenuItem(menuInput("Tea"));
    const ids = [];
    for (let i = 0; i < 5; i++) {
      ids.push(
        (await s.placeOrder({ items: [{ menuItemId: a.id, quantity: 1 }] }))
          .orderId,
      );
    }
    await s.setOrderStatus(ids[4]!, "cancelled");
    assert.deepEqual((await s.listOrders({ limit: 2 })).map((o) => o.id), [
      ids[4],
      ids[3],
    ]);
    assert.deepEqual(
      (await s.listOrders({ limit: 2, before: ids[3] })).map((o) => o.id),
      [ids[2], ids[1]],
    );
    assert.deepEqual(
      (await s.listOrders({ limit: 9, statuses: ["cancelled"] })).map((o) =>
        o.id
      ),
      [ids[4]],
    );
    assert.deepEqual(
      (await s.listActiveOrders()).map((o) => o.id),
      ids.slice(0, 4),
    );
    // A listing carries the same orders, lines included, as getOrder().
    const b = await s.createMenuItem(menuInput("Scone", { priceCents: 325 }));
    const two = await s.placeOrder({
      items: [{ menuItemId: b.id, quantity: 3, notes: "warm" }, {
        menuItemId: a.id,
        quantity: 1,
      }],
      notes: "two lines",
    });
    const [listed] = await s.listOrders({ limit: 1 });
    assert.deepEqual(listed, await s.getOrder(two.orderId));
    assert.deepEqual(listed!.items.map((l) => [l.name, l.notes]), [
      ["Scone", "warm"],
      ["Tea", null],
    ]);
    const active = await s.listActiveOrders();
    assert.deepEqual(active.at(-1), listed);
    for (const o of active) assert.deepEqual(o, await s.getOrder(o.id));
  });

  test("inventory changes are atomic and refuse to go below zero", async (s) => {
    const i = await s.createInventoryItem({
      name: "Basil",
      quantity: 3,
      unit: "bunch",
      lowThreshold: 1,
    });
    await assert.rejects(
      s.createInventoryItem({
        name: "basil",
        quantity: 1,
        unit: "x",
        lowThreshold: null,
      }),
      ConflictError,
    );
    assert.equal((await s.changeInventory(i.id, { delta: -2 })).quantity, 1);
    await assert.rejects(s.changeInventory(i.id, { delta: -2 }), ConflictError);
    assert.equal(
      (await s.changeInventory(i.id, { quantity: 9, lowThreshold: null }))
        .lowThreshold,
      null,
    );
    await assert.rejects(
      s.changeInventory(999_999, { delta: 1 }),
      NotFoundError,
    );
    assert.deepEqual(
      (await s.listEvents(0)).filter((e) => e.type === "inventory.low").length,
      1,
    );
  });

  test("onEvents() fires after a commit that appended events", async (s) => {
    let fired = 0;
    const off = s.onEvents(() => fired++);
    await s.createMenuItem(menuInput("Olives"));
    await new Promise((r) => setTimeout(r, 50));
    assert.ok(fired >= 1);
    off();
    const after = fired;
    await s.createMenuItem(menuInput("Bread"));
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(fired, after, "unsubscribed listeners are not called");
    assert.equal(await s.lastEventId(), (await s.listEvents(0)).at(-1)!.id);
  });

  test("wipe() empties every table", async (s) => {
    const a = await s.createMenuItem(menuInput("Cake"));
    await s.placeOrder({ items: [{ menuItemId: a.id, quantity: 1 }] }, {
      idempotency: idem("w"),
    });
    await s.wipe();
    assert.equal((await s.listMenu()).length, 0);
    assert.equal((await s.listOrders({ limit: 10 })).length, 0);
    assert.equal(await s.lastEventId(), 0);
    assert.equal(await s.purgeIdempotencyKeys(0), 0);
  });
}
