/**
 * The feed's commit signal is never lost, whenever it arrives: here the
 * signal of a real commit is delivered at every microtask offset around the
 * end of a read loop (where a PostgreSQL commit settling in the same turn
 * lands), and the event must reach the subscriber without a further commit.
 */
import assert from "node:assert/strict";
import type { Store } from "../db/store.ts";
import { Feed, type FeedBatch } from "../kitchen/feed.ts";
import { addItem, openTempLibsql } from "./_helpers.ts";

/** Runs `fn` after `n` microtask turns. */
function afterMicrotasks(n: number, fn: () => void) {
  if (n === 0) return fn();
  queueMicrotask(() => afterMicrotasks(n - 1, fn));
}

Deno.test("a commit signal that lands as a read loop ends is still read", async () => {
  const db = await openTempLibsql();
  try {
    const item = await addItem(db.store);
    for (let offset = 0; offset <= 12; offset++) {
      // The store as the feed sees it: its own signals are held back, and the
      // test sends the signal of one commit at a chosen moment instead.
      let listener: (() => void) | null = null;
      let arm: (() => Promise<void>) | null = null;
      const real = db.store;
      const timed = new Proxy(real, {
        get(target, prop) {
          if (prop === "onEvents") {
            return (l: () => void) => {
              listener = l;
              return () => listener = null;
            };
          }
          if (prop === "listEvents") {
            return async (after: number, limit?: number) => {
              const page = await target.listEvents(after, limit);
              const commit = arm;
              arm = null;
              // Commit after this read (so the page cannot hold it), then
              // signal `offset` microtasks after the page is handed back.
              if (commit) {
                await commit();
                queueMicrotask(() =>
                  afterMicrotasks(offset, () => listener?.())
                );
              }
              return page;
            };
          }
          const v = Reflect.get(target, prop, target);
          return typeof v === "function" ? v.bind(target) : v;
        },
      }) as Store;
      const feed = new Feed(timed);
      const seen: number[] = [];
      const sub = await feed.subscribe({
        deliver: (b: FeedBatch) => {
          seen.push(...b.events.map((e) => e.id));
          return true;
        },
      });
      let placed = 0;
      arm = async () => {
        await real.placeOrder({ items: [{ menuItemId: item, quantity: 1 }] });
        placed = await real.lastEventId();
      };
      // One event for the read to find (an empty page takes another path),
      // then a read loop starts; its read commits the next one and signals.
      await real.placeOrder({ items: [{ menuItemId: item, quantity: 1 }] });
      listener!();
      const end = Date.now() + 2_000;
      while (!seen.includes(placed) && Date.now() < end) {
        await new Promise((r) => setTimeout(r, 5));
      }
      sub.close();
      assert.ok(placed > 0, "the commit happened");
      assert.ok(
        seen.includes(placed),
        `event ${placed} delivered (signal ${offset} microtasks after the read)`,
      );
    }
  } finally {
    await db.cleanup();
  }
});
