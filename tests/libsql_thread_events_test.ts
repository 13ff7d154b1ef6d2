/** Feed events leave the libSQL database thread with their data as JSON text. */
import assert from "node:assert/strict";
import { openTempLibsql } from "./_helpers.ts";
import { sseMessage } from "../kitchen/sse.ts";
import { eventJson } from "../domain/wire.ts";
import { toTextEvent } from "../db/libsql/rows.ts";

Deno.test("threaded listEvents: data arrives as one-line JSON text, parsed only when read, streamed verbatim", async () => {
  const db = await openTempLibsql();
  try {
    const item = await db.store.createMenuItem({
      name: "Crème brûlée",
      description: "",
      priceCents: 650,
      category: "Dessert",
      available: true,
      stock: null,
    });
    const placed = await db.store.placeOrder({
      items: [{ menuItemId: item.id, quantity: 2 }],
      notes: 'line one\nline two \u2028 "quoted"',
    }, {});
    const events = await db.store.listEvents(0, 100);
    const created = events.find((e) => e.type === "order.created");
    assert.ok(created, "an order.created event");
    assert.equal(typeof created.dataJson, "string");
    assert.ok(!/[\r\n]/.test(created.dataJson!), "one line");
    const data = created.data as { id: number; notes: string };
    assert.equal(data.id, placed.orderId);
    assert.equal(data.notes, 'line one\nline two \u2028 "quoted"');
    assert.equal(created.data, data, "parsed once, then the same object");
    assert.deepEqual(JSON.parse(created.dataJson!), data);
    // The SSE frame carries the text as stored: one data line.
    const frame = sseMessage(created);
    assert.equal(
      frame,
      `id: ${created.id}\nevent: order.created\ndata: ${created.dataJson}\n\n`,
    );
    // JSON answers built from the event still include its data.
    assert.deepEqual(
      JSON.parse(JSON.stringify(eventJson(created))).data,
      data,
    );
  } finally {
    await db.cleanup();
  }
});

Deno.test("toTextEvent keeps one-line JSON as stored and re-encodes text that spans lines", () => {
  const row = (data: string) => ({
    id: 7,
    type: "menu.updated",
    data,
    created_at: 1_700_000_000_000,
  });
  const same = '{"a":1,"b":"x\\ny"}';
  // deno-lint-ignore no-explicit-any
  assert.equal(toTextEvent(row(same) as any).dataJson, same);
  // deno-lint-ignore no-explicit-any
  const multi = toTextEvent(row('{\n  "a": 1,\r\n  "b": [2, 3]\n}') as any);
  assert.equal(multi.dataJson, '{"a":1,"b":[2,3]}');
  assert.equal(multi.id, 7);
  assert.equal(multi.createdAt, 1_700_000_000_000);
});
