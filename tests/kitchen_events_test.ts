/** `GET /kitchen/events` over a real server: replay, seam to live, heartbeat, leaks, slow clients. */
import assert from "node:assert/strict";
import { createApp } from "../app.ts";
import type { Store } from "../db/store.ts";
import { feedOf } from "../kitchen/feed.ts";
import { type SseMessage, SseReader } from "../kitchen/sse_client.ts";
import { addItem, testEachBackend as test, withServer } from "./_helpers.ts";

/** Fails instead of hanging when `p` does not settle within `ms`. */
async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`timed out: ${what}`)),
          ms,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls `cond` every 10 ms for up to `ms`. */
async function eventually(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 10));
  }
  return true;
}

async function openSse(
  base: string,
  query = "",
  headers: Record<string, string> = {},
): Promise<SseReader> {
  const res = await fetch(`${base}/kitchen/events${query}`, { headers });
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type")!, /^text\/event-stream/);
  assert.equal(res.headers.get("cache-control"), "no-cache, no-transform");
  return new SseReader(res.body!);
}

function placeOrders(store: Store, itemId: number, n: number) {
  return Promise.all(
    Array.from(
      { length: n },
      () => store.placeOrder({ items: [{ menuItemId: itemId, quantity: 1 }] }),
    ),
  );
}

/** Reads feed events (not `ready`) until one with id `lastId` has arrived. */
async function readThrough(
  reader: SseReader,
  lastId: number,
  seen: SseMessage[],
): Promise<void> {
  while (Number(seen.at(-1)?.id ?? 0) < lastId) {
    const m = await within(reader.next(), 10_000, `event ${lastId}`);
    assert.ok(m, "stream ended early");
    seen.push(m);
  }
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

/** Checks `messages` against the log: same ids, types and data, in order, once each. */
async function assertMatchesLog(
  store: Store,
  after: number,
  messages: SseMessage[],
) {
  const log = await store.listEvents(after, 10_000);
  assert.deepEqual(messages.map((m) => Number(m.id)), log.map((e) => e.id));
  assert.deepEqual(messages.map((m) => m.event), log.map((e) => e.type));
  assert.deepEqual(
    messages.map((m) => JSON.parse(m.data)),
    log.map((e) => e.data),
  );
}

test("Last-Event-ID replays the log in pages, then goes live with no gap and no duplicate", async (t) => {
  feedOf(t.store, { pageSize: 7 });
  const item = await addItem(t.store);
  await placeOrders(t.store, item, 40);
  const k = 10;
  await withServer(t.app.fetch, async (base) => {
    // Orders keep committing while the client connects and replays.
    const writing = (async () => {
      for (let i = 0; i < 30; i++) await placeOrders(t.store, item, 2);
    })();
    const reader = await openSse(base, "", { "Last-Event-ID": String(k) });
    await writing;
    const last = await t.store.lastEventId();
    const all: SseMessage[] = [];
    await readThrough(reader, last, all);
    await reader.cancel();
    const ready = all.filter((m) => m.event === "ready");
    assert.equal(ready.length, 1, "one ready marker");
    const readyId = Number(ready[0]!.id);
    assert.deepEqual(JSON.parse(ready[0]!.data), { last_event_id: readyId });
    const events = all.filter((m) => m.event !== "ready");
    assert.deepEqual(events.map((m) => Number(m.id)), range(k + 1, last));
    await assertMatchesLog(t.store, k, events);
    // Everything before the marker is the replay, everything after it live.
    const before = all.slice(0, all.indexOf(ready[0]!));
    assert.ok(before.every((m) => Number(m.id) <= readyId));
  });
});

test("?after= replays like Last-Event-ID, and Last-Event-ID wins when both are sent", async (t) => {
  const item = await addItem(t.store);
  await placeOrders(t.store, item, 12);
  const last = await t.store.lastEventId();
  await withServer(t.app.fetch, async (base) => {
    const byQuery = await openSse(base, "?after=3");
    const seen: SseMessage[] = [];
    await readThrough(byQuery, last, seen);
    await byQuery.cancel();
    const events = seen.filter((m) => m.event !== "ready");
    assert.deepEqual(events.map((m) => Number(m.id)), range(4, last));
    await assertMatchesLog(t.store, 3, events);

    const both = await openSse(base, "?after=0", { "Last-Event-ID": "9" });
    const first = await within(both.next(), 5000, "first message");
    await both.cancel();
    assert.equal(first?.id, "10");
  });
});

test("without a resume point the stream starts at now: ready carries the newest id, then only new events", async (t) => {
  const item = await addItem(t.store);
  await placeOrders(t.store, item, 5);
  const last = await t.store.lastEventId();
  await withServer(t.app.fetch, async (base) => {
    const reader = await openSse(base);
    const ready = await within(reader.next(), 5000, "ready");
    assert.equal(ready?.event, "ready");
    assert.equal(ready?.id, String(last));
    assert.equal(reader.retry, 1000, "retry hint");
    const [placed] = await placeOrders(t.store, item, 1);
    const next = await within(reader.next(), 5000, "live event");
    await reader.cancel();
    assert.equal(next?.event, "order.created");
    assert.equal(next?.id, String(last + 1));
    assert.equal(JSON.parse(next!.data).id, placed!.orderId);
  });
});

test("malformed resume points are refused: Last-Event-ID 400, ?after= 422", async (t) => {
  const bad = await t.app.request("/kitchen/events", {
    headers: { "Last-Event-ID": "abc" },
  });
  assert.equal(bad.status, 400);
  assert.equal((await bad.json()).error.code, "invalid_last_event_id");
  const badQuery = await t.app.request("/kitchen/events?after=-1");
  assert.equal(badQuery.status, 422);
  await badQuery.body?.cancel();
  assert.equal(feedOf(t.store).subscriberCount, 0);
});

test("a heartbeat comment arrives on the configured interval", async (t) => {
  feedOf(t.store, { heartbeatMs: 30 });
  await withServer(t.app.fetch, async (base) => {
    const reader = await openSse(base);
    const heartbeats = () =>
      reader.comments.filter((c) => c === "heartbeat").length;
    await within(
      (async () => {
        while (heartbeats() < 3) assert.ok(await reader.pump());
      })(),
      5000,
      "three heartbeats",
    );
    await reader.cancel();
    assert.ok(reader.comments.includes("connected"));
  });
});

test("2,000 connects and disconnects leave no subscriber behind", async (t) => {
  feedOf(t.store, { pageSize: 50 });
  const item = await addItem(t.store);
  await placeOrders(t.store, item, 300);
  const feed = feedOf(t.store);
  let peak = 0;
  await withServer(t.app.fetch, async (base) => {
    let next = 0;
    const worker = async () => {
      while (next < 2000) {
        const i = next++;
        const ctl = new AbortController();
        const res = await fetch(`${base}/kitchen/events`, {
          signal: ctl.signal,
          // A third replay the whole log and leave mid-replay.
          headers: i % 3 === 0 ? { "Last-Event-ID": "0" } : {},
        });
        peak = Math.max(peak, feed.subscriberCount);
        if (i % 2 === 0) {
          const reader = new SseReader(res.body!);
          await reader.next();
          await reader.cancel();
        } else {
          ctl.abort();
          await res.body?.cancel().catch(() => {});
        }
      }
    };
    await Promise.all(Array.from({ length: 50 }, worker));
    assert.ok(peak > 1, "connections overlapped");
    assert.ok(
      await eventually(() => feed.subscriberCount === 0, 10_000),
      `subscribers left: ${feed.subscriberCount}`,
    );
    assert.equal(feed.running, false, "the reader stops with no subscriber");

    // And the feed still works afterwards.
    const reader = await openSse(base);
    await within(reader.next(), 5000, "ready");
    const [placed] = await placeOrders(t.store, item, 1);
    const m = await within(reader.next(), 5000, "live event");
    await reader.cancel();
    assert.equal(JSON.parse(m!.data).id, placed!.orderId);
  });
  assert.ok(await eventually(() => feed.subscriberCount === 0, 5000));
});

test("HEAD answers the stream's headers without subscribing", async (t) => {
  const feed = feedOf(t.store);
  await withServer(t.app.fetch, async (base) => {
    for (let i = 0; i < 20; i++) {
      const res = await fetch(`${base}/kitchen/events`, { method: "HEAD" });
      assert.equal(res.status, 200);
      assert.match(res.headers.get("content-type")!, /^text\/event-stream/);
      await res.body?.cancel();
    }
    assert.equal(feed.subscriberCount, 0);
    const bad = await fetch(`${base}/kitchen/events`, {
      method: "HEAD",
      headers: { "Last-Event-ID": "soon" },
    });
    assert.equal(bad.status, 400, "a bad resume point is refused as on GET");
    await bad.body?.cancel();
  });
});

test("a client that stops reading is dropped; others and the writers never wait for it", async (t) => {
  const feed = feedOf(t.store, { maxBufferBytes: 64 * 1024 });
  await withServer(t.app.fetch, async (base) => {
    const healthy = await openSse(base);
    await within(healthy.next(), 5000, "ready");
    const { hostname, port } = new URL(base);
    const stuck = await Deno.connect({ hostname, port: Number(port) });
    await stuck.write(
      new TextEncoder().encode(
        `GET /kitchen/events HTTP/1.1\r\nHost: ${hostname}\r\n\r\n`,
      ),
    );
    assert.ok(await eventually(() => feed.subscriberCount === 2, 5000));

    const received: number[] = [];
    const eventIds: number[] = [];
    const reading = (async () => {
      for (;;) {
        const m = await healthy.next();
        if (!m) return;
        eventIds.push(Number(m.id));
        if (m.event === "order.created") received.push(JSON.parse(m.data).id);
      }
    })();
    try {
      // ~30 KB per event: the stuck socket's kernel buffers fill, then its queue.
      const notes = "n".repeat(200);
      const items = Array.from(
        { length: 100 },
        (_, i) => ({ name: `Dish ${i}`, quantity: 1, notes }),
      );
      const placed: number[] = [];
      while (feed.droppedCount === 0 && placed.length < 3000) {
        const round = await Promise.all(
          Array.from({ length: 20 }, () => t.store.placeOrder({ items })),
        );
        placed.push(...round.map((p) => p.orderId));
      }
      assert.equal(feed.droppedCount, 1, "the stuck client was dropped");
      assert.equal(feed.subscriberCount, 1, "the healthy client stays");
      assert.ok(
        await eventually(() => received.length === placed.length, 10_000),
        `healthy client got ${received.length} of ${placed.length}`,
      );
      // In event-id order (order ids may commit in another order on PostgreSQL).
      assert.ok(eventIds.every((id, i) => i === 0 || id > eventIds[i - 1]!));
      assert.deepEqual(
        received.toSorted((a, b) => a - b),
        placed.toSorted((a, b) => a - b),
      );
    } finally {
      stuck.close();
      await healthy.cancel();
      await reading.catch(() => {});
    }
  });
});

test("the stream ends cleanly when the server shuts down", async (t) => {
  const shutdown = new AbortController();
  const app = createApp({
    config: t.config,
    store: t.store,
    shutdown: shutdown.signal,
  });
  await withServer(app.fetch, async (base) => {
    const reader = await openSse(base);
    await within(reader.next(), 5000, "ready");
    shutdown.abort();
    assert.equal(await within(reader.next(), 5000, "end of stream"), null);
  });
  assert.equal(feedOf(t.store).subscriberCount, 0);
});

test("the OpenAPI document describes the event stream", async (t) => {
  const doc = await (await t.app.request("/openapi.json")).json();
  const op = doc.paths["/kitchen/events"].get;
  assert.ok(op.responses["200"].content["text/event-stream"]);
  assert.ok(
    op.parameters.some((p: { name: string }) => p.name === "Last-Event-ID"),
  );
  assert.ok(op.parameters.some((p: { name: string }) => p.name === "after"));
});
