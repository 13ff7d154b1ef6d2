/**
 * Connection floods against a real `main.ts` process whose open-file limit is
 * lowered to 256: half-sent heads are closed after HEADER_TIMEOUT_MS, more
 * connections than the process has descriptors do not kill it, and an event
 * stream opened before the flood still delivers afterwards. Loopback only,
 * bounded in count and time.
 */
import assert from "node:assert/strict";
import { SseReader } from "../kitchen/sse_client.ts";
import { addItem, backends, type TestDb } from "./_helpers.ts";
import { startServer } from "./_postgres.ts";

const FD_LIMIT = 256;
const HEADER_TIMEOUT_MS = 1000;
/** More connections than the server process may have descriptors. */
const FLOOD = 400;
const HALF_HEAD = new TextEncoder().encode(
  "GET /health HTTP/1.1\r\nHost: flood\r\n",
);

/** Starts main.ts under `ulimit -n FD_LIMIT`; resolves once it listens. */
async function startLimited(dbUrl: string) {
  const server = await startServer({
    DATABASE_URL: dbUrl,
    DEMO_DATA: "0",
    LOG_LEVEL: "warn",
    HEADER_TIMEOUT_MS: String(HEADER_TIMEOUT_MS),
  }, { fdLimit: FD_LIMIT });
  return { ...server, port: Number(new URL(server.base).port) };
}

/** Resolves with how long the server took to close `conn` (EOF or reset), or null after `ms`. */
async function closedWithin(conn: Deno.Conn, ms: number) {
  const start = Date.now();
  const buf = new Uint8Array(1024);
  const eof = (async () => {
    try {
      while (await conn.read(buf) !== null) { /* a 408 may come first */ }
    } catch { /* reset */ }
    return Date.now() - start;
  })();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<null>((r) => timer = setTimeout(r, ms, null));
  const took = await Promise.race([eof, late]);
  clearTimeout(timer);
  return took;
}

/** Opens `n` connections at once, each with half a request head; failures are counted. */
async function flood(port: number, n: number) {
  const conns: Deno.Conn[] = [];
  let refused = 0;
  await Promise.all(Array.from({ length: n }, async () => {
    try {
      const c = await Deno.connect({ hostname: "127.0.0.1", port });
      conns.push(c);
      await c.write(HALF_HEAD).catch(() => {});
    } catch {
      refused++;
    }
  }));
  return { conns, refused };
}

/** A `/ws/orders` socket that remembers the ids of the `new_order` messages it got. */
async function openOrderSocket(port: number) {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/ws/orders`);
  const ids = new Set<number>();
  ws.onmessage = (e) => {
    const m = JSON.parse(e.data);
    if (m.type === "new_order") ids.add(m.order.id);
  };
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = reject;
  });
  return {
    async saw(id: number, ms: number) {
      const end = Date.now() + ms;
      while (!ids.has(id) && Date.now() < end) {
        await new Promise((r) => setTimeout(r, 20));
      }
      return ids.has(id);
    },
    close: () => ws.close(),
  };
}

/** Retries `fn` until it succeeds or `ms` pass; the last error is rethrown. */
async function eventually<T>(fn: () => Promise<T>, ms: number): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      if (Date.now() > end) throw e;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

async function placeOrder(base: string, item: number) {
  const res = await fetch(`${base}/orders`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ items: [{ menu_item_id: item, quantity: 1 }] }),
    signal: AbortSignal.timeout(3000),
  });
  const body = await res.json();
  assert.equal(res.status, 200, JSON.stringify(body));
  return body as { id: number };
}

async function runFloodChecks(t: Deno.TestContext, db: TestDb) {
  const item = await addItem(db.store, { name: "Flood soup" });
  const server = await startLimited(db.url);
  const feedRes = await fetch(`${server.base}/kitchen/events`);
  assert.equal(feedRes.status, 200);
  const feed = new SseReader(feedRes.body!);
  const socket = await openOrderSocket(server.port);
  try {
    await t.step(
      "a half-sent head is closed after HEADER_TIMEOUT_MS",
      async () => {
        const conn = await Deno.connect({
          hostname: "127.0.0.1",
          port: server.port,
        });
        await conn.write(HALF_HEAD);
        const took = await closedWithin(conn, HEADER_TIMEOUT_MS + 4000);
        conn.close();
        assert.ok(took !== null, "still open 5 s after half a request head");
        assert.ok(took >= HEADER_TIMEOUT_MS * 0.8, `closed after ${took} ms`);
      },
    );

    await t.step(
      `${FLOOD} connections against ${FD_LIMIT} descriptors do not kill it`,
      async () => {
        const { conns } = await flood(server.port, FLOOD);
        await new Promise((r) => setTimeout(r, HEADER_TIMEOUT_MS + 1000));
        assert.ok(server.alive(), `server exited:\n${server.output()}`);
        for (const c of conns) {
          try {
            c.close();
          } catch { /* closed by the server */ }
        }
        const health = await eventually(async () => {
          const res = await fetch(`${server.base}/health`, {
            signal: AbortSignal.timeout(2000),
          });
          await res.body?.cancel();
          return res.status;
        }, 10_000);
        assert.equal(health, 200);
        await eventually(() => placeOrder(server.base, item), 10_000);
        assert.ok(server.alive(), `server exited:\n${server.output()}`);
      },
    );

    await t.step(
      "an event stream opened before the flood still delivers",
      async () => {
        const order = await placeOrder(server.base, item);
        const seen = await Promise.race([
          feed.until((m) =>
            m.event === "order.created" &&
            (JSON.parse(m.data) as { id: number }).id === order.id
          ),
          new Promise<null>((r) => setTimeout(r, 5000, null)),
        ]);
        assert.ok(seen, "the order never reached the stream");
      },
    );
  } finally {
    await feed.cancel();
    socket.close();
    await server.stop();
  }
}

for (const backend of backends()) {
  Deno.test({
    name: `[${backend.name}] a connection flood leaves the server up${
      backend.skip ? ` (skipped: ${backend.skip})` : ""
    }`,
    ignore: backend.skip !== undefined,
    async fn(t) {
      const db = await backend.open();
      try {
        await runFloodChecks(t, db);
      } finally {
        await db.cleanup();
      }
    },
  });
}
