import assert from "node:assert/strict";
import { TextEvent } from "./text_event.ts";

Deno.test("a TextEvent parses its data on first use, once", () => {
  const e = new TextEvent({
    id: 7,
    type: "order.created",
    dataJson: '{"id":3,"items":[]}',
    createdAt: 0,
  });
  assert.deepEqual(e.data, { id: 3, items: [] });
  assert.equal(e.data, e.data);
  assert.equal(e.dataJson, '{"id":3,"items":[]}');
});
